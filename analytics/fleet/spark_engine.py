"""The lake on Apache Spark, for fleets that outgrow one machine: the same reports, transpiled.

Each report's DuckDB SQL goes through ``sqlglot`` (DuckDB dialect in, Spark dialect out), so a report is
written once and both engines apply the same k-anonymity rule. The ``day`` partition stays a string
(Spark would otherwise infer a date from ``day=2026-12-05``), as DuckDB reads it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

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


DRIVER_MEMORY_VARIABLE = "PEFT_FLEET_SPARK_DRIVER_MEMORY"
EXECUTOR_MEMORY_VARIABLE = "PEFT_FLEET_SPARK_EXECUTOR_MEMORY"
_JVM_SIZE = re.compile(r"[1-9][0-9]{0,6}[kmgt]?", re.IGNORECASE)
_GIB = 1 << 30


def spark_memory(
    master: str, environ: Mapping[str, str] = os.environ, total_bytes: int | None = None
) -> tuple[str, str]:
    """The driver's and the executors' heap sizes (JVM sizes such as ``8g``), from the variables when set.

    Otherwise, in local mode (``local[...]``) the driver is the only JVM and does all the work, the dedupe
    window of the live day included: Spark's default 1g runs out of memory from ~15M events, and a 100M-event
    report needed 8g. It gets half the machine's memory (1g to 32g); the heap is reserved as it is used, not
    at start. On a cluster the executors do the work and the driver only gathers answers: 1g. Executors:
    512m unless set (the cluster's workers bound them anyway). A malformed value raises ``ValueError``."""
    sizes = []
    for variable, default in ((DRIVER_MEMORY_VARIABLE, None), (EXECUTOR_MEMORY_VARIABLE, "512m")):
        value = environ.get(variable, "").strip()
        if value and not _JVM_SIZE.fullmatch(value):
            raise ValueError(f"{variable}: expected a JVM memory size such as 512m or 8g")
        sizes.append(value or default)
    driver, executor = sizes
    if driver is None:
        if master.startswith("local"):
            total = total_bytes if total_bytes is not None else psutil.virtual_memory().total
            driver = f"{min(32, max(1, total // 2 // _GIB))}g"
        else:
            driver = "1g"
    assert executor is not None
    return driver, executor


def spark_session(master: str | None = None) -> Any:
    """A small SparkSession for reports: no UI, UTC, partition values kept as strings, heaps by
    :func:`spark_memory`."""
    from pyspark.sql import SparkSession

    master = master or "local[*]"
    driver_memory, executor_memory = spark_memory(master)
    return (
        SparkSession.builder.master(master)
        .appName("peft-telemetry-fleet")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", driver_memory)
        .config("spark.executor.memory", executor_memory)
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
