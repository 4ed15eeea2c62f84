"""The lake on embedded DuckDB: the default engine, one machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

import duckdb

from analytics.fleet.reports import ViewSql, metrics_view_sql, view_sql
from exporters.lake.schema import LAKE_KINDS, METRICS_DIR, SPANS_DIR, compacted_days, lake_files

T = TypeVar("T")
#: A file listed but replaced before it was read (compaction, deletion): list again, this many times, after
#: a pause growing by this much (the replacing hub is done within milliseconds; a read can lose the race
#: again only if another compaction or deletion starts meanwhile).
_ATTEMPTS: Final = 8
_BACKOFF_S: Final = 0.02


def relisted(read: Callable[[], T]) -> T:
    """``read()`` (which lists the lake's files, then reads them), again from a fresh listing when a file it
    listed was removed before it was read: what a report run next to a live hub needs. Every fleet read on
    DuckDB goes through here.
    """
    for attempt in range(_ATTEMPTS):
        try:
            return read()
        except duckdb.IOException:
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(_BACKOFF_S * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def read_lake(lake: Path, use: Callable[[DuckDBLake], T], **options: Any) -> T:
    """``use(DuckDBLake(lake, **options))``, :func:`relisted`.

    Example::

        totals = read_lake(Path("/srv/lake"), lambda db: db.rows("SELECT count(*) AS n FROM lake_spans"))
    """

    def read() -> T:
        with DuckDBLake(lake, **options) as db:
            return use(db)

    return relisted(read)


def _empty_select(kind: str) -> str:
    columns = ", ".join(f"CAST(NULL AS {sql}) AS {name}" for name, sql in LAKE_KINDS[kind][0])
    return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS day WHERE false"


class DuckDBLake:
    """An in-memory DuckDB with ``lake_spans`` and ``lake_metrics`` (deduplicated) over the lake's Parquet
    files (a lake of schema 1 has no points: ``lake_metrics`` is empty).

    The files are listed once, here: the views read that listing, so the days it found compacted (read
    without the deduplication) cannot gain a file meanwhile; a hub's later file shows in the next instance.
    A listed file that a compaction removes before it is read fails that query (``duckdb.IOException``), as a
    glob expanded at the query's start would: open the lake again.

    Example::

        with DuckDBLake(Path("/srv/lake")) as lake:
            lake.rows("SELECT count(*) AS n FROM lake_spans")
    """

    def __init__(
        self,
        lake: Path,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        view: ViewSql = view_sql,
    ) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {"threads": threads} if threads else {}
        if memory_limit:  # e.g. "4GB": the dedupe window spills beyond it instead of taking 80% of the RAM
            config["memory_limit"] = memory_limit
        self._con = duckdb.connect(config=config)
        # ``view``: another projection of ``lake_raw`` (the insights read more columns than the reports).
        for kind, raw, name, select in (
            (SPANS_DIR, "lake_raw", "lake_spans", view),
            (METRICS_DIR, "lake_metrics_raw", "lake_metrics", metrics_view_sql),
        ):
            files = [str(p.absolute()) for p in lake_files(lake, kind)]
            if files:
                # A bound list (a variable), not SQL text: any path, however many files.
                self._con.execute(f"SET VARIABLE {raw}_files = $files", {"files": files})
                source = (
                    f"read_parquet(getvariable('{raw}_files'), hive_partitioning = true, "
                    "union_by_name = true, hive_types = {'day': VARCHAR})"
                )
            else:
                source = f"({_empty_select(kind)})"
            self._con.execute(f"CREATE VIEW {raw} AS SELECT * FROM {source}")  # noqa: S608
            self._con.execute(f"CREATE VIEW {name} AS " + select(compacted_days(lake, kind, files)))

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
