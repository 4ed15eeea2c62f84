"""The lake on embedded DuckDB: the default engine, one machine."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from analytics.fleet.reports import view_sql
from exporters.lake.schema import LAKE_SPAN_COLUMNS, lake_files, spans_glob


def _empty_select() -> str:
    columns = ", ".join(f"CAST(NULL AS {sql}) AS {name}" for name, sql in LAKE_SPAN_COLUMNS)
    return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS day WHERE false"


class DuckDBLake:
    """An in-memory DuckDB with ``lake_spans`` (deduplicated) over the lake's Parquet files.

    Example::

        with DuckDBLake(Path("/srv/lake")) as lake:
            lake.rows("SELECT count(*) AS n FROM lake_spans")
    """

    def __init__(self, lake: Path, *, threads: int | None = None, view: str | None = None) -> None:
        self._con = duckdb.connect(config={"threads": threads} if threads else {})
        if lake_files(lake):
            source = (
                f"read_parquet('{_quoted(spans_glob(lake))}', hive_partitioning = true, union_by_name = true, "
                "hive_types = {'day': VARCHAR})"
            )
        else:
            source = f"({_empty_select()})"
        self._con.execute(f"CREATE VIEW lake_raw AS SELECT * FROM {source}")  # noqa: S608
        # ``view``: another projection of ``lake_raw`` (the insights read more columns than the reports).
        self._con.execute("CREATE VIEW lake_spans AS " + (view or view_sql("lake_raw")))

    def rows(self, sql: str) -> list[dict[str, Any]]:
        result = self._con.execute(sql)
        names = [d[0] for d in result.description or ()]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> DuckDBLake:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def _quoted(text: str) -> str:
    return text.replace("'", "''")
