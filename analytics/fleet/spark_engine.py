"""The lake on Apache Spark, for fleets that outgrow one machine: the same reports, transpiled.

Each report's DuckDB SQL goes through ``sqlglot`` (DuckDB dialect in, Spark dialect out), so a report is
written once and both engines apply the same k-anonymity rule. The ``day`` partition stays a string
(Spark would otherwise infer a date from ``day=2026-12-05``), as DuckDB reads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from analytics.fleet.reports import ViewSql, metrics_view_sql, view_sql
from exporters.lake.schema import LAKE_KINDS, METRICS_DIR, SPANS_DIR, compacted_days, lake_files

_SPARK_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "BIGINT",
    "DOUBLE": "DOUBLE",
    "BOOLEAN": "BOOLEAN",
    "BIGINT[]": "ARRAY<BIGINT>",
    "DOUBLE[]": "ARRAY<DOUBLE>",
}


def to_spark_sql(duckdb_sql: str) -> str:
    """DuckDB SQL -> Spark SQL (one statement)."""
    import sqlglot

    return str(sqlglot.transpile(duckdb_sql, read="duckdb", write="spark")[0])


def spark_session(master: str | None = None) -> Any:
    """A small SparkSession for reports: no UI, UTC, partition values kept as strings."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master or "local[*]")
        .appName("peft-telemetry-fleet")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", os.environ.get("PEFT_FLEET_SPARK_DRIVER_MEMORY", "1g"))
        .config("spark.executor.memory", os.environ.get("PEFT_FLEET_SPARK_EXECUTOR_MEMORY", "512m"))
        .getOrCreate()
    )


class SparkLake:
    """``lake_spans`` and ``lake_metrics`` (deduplicated) as Spark temporary views over the lake's Parquet
    files (a lake of schema 1 has no points: ``lake_metrics`` is empty).

    Example::

        with SparkLake(Path("/srv/lake"), master="spark://10.0.0.5:7077") as lake:
            lake.rows("SELECT count(*) AS n FROM lake_spans")  # DuckDB SQL, transpiled

    A session passed in (``session=``) is left running on close; one created here is stopped. ``view``: another
    projection of ``lake_raw`` in DuckDB SQL (the insights read more columns than the reports), given the days
    found compacted. Spark lists the files once, here; the compacted days are read off that listing.
    """

    def __init__(self, lake: Path, *, master: str | None = None, session: Any = None, view: ViewSql = view_sql) -> None:
        self._owned = session is None
        self.spark = session if session is not None else spark_session(master)
        self._deduped = [
            self._view(lake, SPANS_DIR, "lake_raw", "lake_spans", view),
            self._view(lake, METRICS_DIR, "lake_metrics_raw", "lake_metrics", metrics_view_sql),
        ]

    def _view(self, lake: Path, kind: str, raw: str, view: str, select: ViewSql) -> Any:
        if lake_files(lake, kind):
            root = str(Path(lake).absolute() / kind)
            frame = (
                self.spark.read.option("basePath", root)
                .option("mergeSchema", "true")
                .option("pathGlobFilter", "*.parquet")
                .parquet(root)
            )
        else:
            columns = LAKE_KINDS[kind][0]
            ddl = ", ".join(f"{name} {_SPARK_TYPES[sql]}" for name, sql in columns) + ", day STRING"
            frame = self.spark.createDataFrame([], ddl)
        frame.createOrReplaceTempView(raw)
        # Every section of a report reads the deduplicated rows: computed once per report (lazily cached).
        # The days are read off the files this frame reads (its own listing, made above), so they agree.
        compacted = compacted_days(lake, kind, frame.inputFiles())
        deduped = self.spark.sql(to_spark_sql(select(compacted))).cache()
        deduped.createOrReplaceTempView(view)
        return deduped

    def rows(self, duckdb_sql: str) -> list[dict[str, Any]]:
        return [row.asDict() for row in self.spark.sql(to_spark_sql(duckdb_sql)).collect()]

    def close(self) -> None:
        for frame in self._deduped:
            frame.unpersist()
        if self._owned:
            self.spark.stop()

    def __enter__(self) -> SparkLake:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
