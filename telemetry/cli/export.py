"""``peft-telemetry export``: everything in the event log as OTLP JSON Lines, Parquet or CSV.

* ``otlp-json``: one file (``--output -`` writes to stdout), written by
  :func:`exporters.otlp_json.write_otlp_json`. Large logs are exported in about twenty time windows
  (quantiles of the record times) so the progress bar moves; each window is an ordinary OTLP JSON Lines
  fragment, so the concatenation is too.
* ``parquet`` / ``csv``: ``--output`` is a folder that receives one file per table (``spans``,
  ``span_events``, ``metric_points``, ``consent_ledger``, ``resources``), columns exactly as in
  ``exporters.eventlog.schema``; JSON columns are JSON text, and in CSV the list columns of histogram points
  are JSON text too.

The event log's connections run with ``enable_external_access=false``, which also forbids DuckDB's
``COPY ... TO``. So rows are read as Arrow in chunks (keyset pagination on the time column, each chunk
under its own short hold of the log, so a running service is never kept out for long) and written with
pyarrow. Files are written under a ``.partial`` name and renamed when complete: an interrupted export
leaves no half file under the real name. Existing files are replaced only with ``--force``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple

from exporters.eventlog import schema
from telemetry.cli.common import EXIT_OK, CliError, Progress, build_settings, open_event_log

if TYPE_CHECKING:
    import pyarrow as pa

    from exporters.eventlog import EventLog
    from exporters.otlp_json import ExportSummary

FORMATS = ("otlp-json", "parquet", "csv")
CHUNK_ROWS = 20_000
#: Below this many records the OTLP export is one call; above, it is cut into time windows for progress.
WINDOW_MIN_ROWS = 50_000
_WINDOWS = 20

_TIME_COLUMN = {
    schema.SPANS: "start_ns",
    schema.SPAN_EVENTS: "time_ns",
    schema.METRIC_POINTS: "time_ns",
    schema.CONSENT_LEDGER: "time_ns",
    schema.RESOURCES: "first_seen_ns",
}


class _TableSql(NamedTuple):
    bounds: str  # newest time, and how many rows have no time at all
    times: str  # every time value up to the newest: params (upper,); streamed, unsorted
    window: str  # the rows of one half-open time window: params (low, high)
    last: str  # the rows of the last window, up to the newest time: params (low, upper)
    untimed: str  # rows without a time
    empty: str  # no rows, for the Arrow schema


def _table_sql(table: str, fmt: str) -> _TableSql:
    # Names come from exporters.eventlog.schema (an allowlist); every value is a bound parameter. No query
    # sorts whole rows: DuckDB would hold them against the host app's small memory_limit (a million rows
    # do not fit in 32MB). Windows are cut on the time column alone, and each window is sorted in Arrow.
    t = _TIME_COLUMN[table]
    cols = ", ".join(
        f"CAST(to_json({name}) AS VARCHAR) AS {name}" if fmt == "csv" and sql_type.endswith("[]") else name
        for name, sql_type in schema.TABLES[table]
    )
    select = f"SELECT {cols} FROM {table}"  # noqa: S608
    return _TableSql(
        bounds=f"SELECT max({t}), count(*) FILTER (WHERE {t} IS NULL) FROM {table}",  # noqa: S608
        times=f"SELECT {t} FROM {table} WHERE {t} <= ?",  # noqa: S608
        window=f"{select} WHERE {t} >= ? AND {t} < ?",
        last=f"{select} WHERE {t} >= ? AND {t} <= ?",
        untimed=f"{select} WHERE {t} IS NULL",
        empty=f"{select} LIMIT 0",
    )


_SQL = {(table, fmt): _table_sql(table, fmt) for table in schema.DATA_TABLES for fmt in ("parquet", "csv")}
_COUNTS = {table: f"SELECT count(*) FROM {table}" for table in schema.DATA_TABLES}  # noqa: S608
_TIME_CUTS = f"""
SELECT quantile_disc(t, ?) FROM (
    SELECT start_ns AS t FROM {schema.SPANS} UNION ALL SELECT time_ns AS t FROM {schema.METRIC_POINTS}
)"""  # noqa: S608


def export(args: argparse.Namespace) -> int:
    settings = build_settings(args.home)
    output = str(args.output)
    show = not args.no_progress and sys.stderr.isatty()
    log = open_event_log(settings)
    try:
        if args.format == "otlp-json":
            summary = _export_otlp(log, output, force=args.force, show_progress=show)
            where = "stdout" if output == "-" else output
            print(
                f"Exported {summary.spans:,} spans, {summary.span_events:,} span events and "
                f"{summary.metric_points:,} metric points as OTLP JSON Lines ({summary.lines:,} lines, "
                f"{summary.bytes_written:,} bytes) to {where}",
                file=sys.stderr if output == "-" else sys.stdout,
            )
        else:
            counts = _export_tables(log, Path(output), args.format, force=args.force, show_progress=show)
            parts = ", ".join(f"{n:,} {table}" for table, n in counts.items())
            print(f"Exported {parts} as {args.format} to {output}/")
    finally:
        log.close()
    return EXIT_OK


# -- OTLP JSON Lines -------------------------------------------------------------------------------------


def _export_otlp(log: EventLog, output: str, *, force: bool, show_progress: bool) -> ExportSummary:
    from exporters.otlp_json import ExportSummary, write_otlp_json

    stats = log.stats()
    total = stats.spans + stats.metric_points
    windows = _time_windows(log) if total >= WINDOW_MIN_ROWS else [(None, None)]
    progress = Progress("exporting", total, enabled=show_progress)
    summary = ExportSummary()

    def run(out: BinaryIO) -> None:
        for start_ns, end_ns in windows:
            part = write_otlp_json(log, out, start_ns=start_ns, end_ns=end_ns)
            for field in ("spans", "span_events", "metric_points", "lines", "bytes_written"):
                setattr(summary, field, getattr(summary, field) + getattr(part, field))
            progress.update(summary.spans + summary.metric_points)

    if output == "-":
        run(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        target = Path(output)
        if target.is_dir():
            raise CliError(f"{target} is a folder; otlp-json writes one file")
        with _replacing(target, force) as partial, open(partial, "wb") as out:
            run(out)
    progress.close(summary.spans + summary.metric_points)
    return summary


def _time_windows(log: EventLog) -> list[tuple[int | None, int | None]]:
    """About :data:`_WINDOWS` half-open windows with similar record counts, the first and last unbounded."""
    fractions = [i / _WINDOWS for i in range(1, _WINDOWS)]
    with log.reader() as cur:
        row = cur.execute(_TIME_CUTS, [fractions]).fetchone()
    cuts = sorted({c for c in (row[0] if row and row[0] else []) if c is not None})
    bounds: list[int | None] = [None, *cuts, None]
    return list(itertools.pairwise(bounds))


# -- Parquet and CSV -------------------------------------------------------------------------------------


def _export_tables(log: EventLog, folder: Path, fmt: str, *, force: bool, show_progress: bool) -> dict[str, int]:
    if folder.exists() and not folder.is_dir():
        raise CliError(f"{folder} is a file; {fmt} export writes one file per table into a folder")
    _require_parent(folder)
    folder.mkdir(exist_ok=True)  # the folder the user named, and nothing above it
    targets = {table: folder / f"{table}.{fmt}" for table in schema.DATA_TABLES}
    existing = [p.name for p in targets.values() if p.exists()]
    if existing and not force:
        raise CliError(f"{folder} already holds {', '.join(existing)}; pass --force to replace")
    with log.reader() as cur:
        total = sum((cur.execute(_COUNTS[t]).fetchone() or (0,))[0] for t in schema.DATA_TABLES)
    progress = Progress("exporting", total, enabled=show_progress)
    done = 0
    counts: dict[str, int] = {}
    for table, target in targets.items():
        sql = _SQL[(table, fmt)]
        with log.reader() as cur:
            arrow_schema = cur.sql(sql.empty).to_arrow_table().schema
        written = 0
        with _replacing(target, True) as partial, _writer(fmt, partial, arrow_schema) as write:
            for chunk in _chunks(log, sql, _TIME_COLUMN[table]):
                write(chunk)
                written += chunk.num_rows
                progress.update(done + written)
        counts[table] = written
        done += written
    progress.close(done)
    return counts


def _chunks(log: EventLog, sql: _TableSql, time_column: str) -> Iterator[pa.Table]:
    """All rows of one table, oldest first, in chunks of about :data:`CHUNK_ROWS`, each read under its own
    short hold. A chunk never splits the rows of one time value. Rows added later than the newest time
    seen at the start are left out; rows pruned meanwhile may be missing.

    Memory: DuckDB only ever streams (the time column, then one window's rows, neither sorted by it), so
    the export fits the log's ``memory_limit`` at any size; the sorting happens in Arrow, one time column
    (8 bytes a row) and one chunk at a time."""
    with log.reader() as cur:
        upper, untimed = cur.execute(sql.bounds).fetchone() or (None, 0)
    if upper is not None:
        for low, high in _windows(log, sql, upper):
            with log.reader() as cur:
                if high is None:
                    chunk = _streamed(cur, sql.last, [low, upper])
                else:
                    chunk = _streamed(cur, sql.window, [low, high])
            if chunk.num_rows:
                yield chunk.sort_by(time_column)
    if untimed:
        with log.reader() as cur:
            yield _streamed(cur, sql.untimed, [])


def _streamed(cur: Any, query: str, params: list[Any]) -> pa.Table:
    # A record batch reader streams the result out of DuckDB instead of materializing it inside. Through a
    # relation (`sql`), not `execute`: DuckDB 2 warns on stderr that a DB-API result's Arrow output copies.
    return cur.sql(query, params=params).to_arrow_reader(CHUNK_ROWS).read_all()


def _windows(log: EventLog, sql: _TableSql, upper: int) -> list[tuple[int, int | None]]:
    """Half-open ``[low, high)`` time windows of about :data:`CHUNK_ROWS` rows each; the last is
    ``(low, None)`` (up to ``upper`` inclusive)."""
    import pyarrow.compute as pc

    with log.reader() as cur:
        times = _streamed(cur, sql.times, [upper]).column(0)
    if len(times) == 0:
        return []
    ordered = pc.array_sort_indices(times)
    cuts = pc.unique(pc.take(times, ordered[::CHUNK_ROWS])).to_pylist()
    bounds: list[int | None] = [*cuts, None]
    return [(low, high) for low, high in itertools.pairwise(bounds) if low is not None]


@contextlib.contextmanager
def _writer(fmt: str, path: Path, arrow_schema: pa.Schema) -> Iterator[Any]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with pq.ParquetWriter(path, arrow_schema, compression="zstd") as writer:
            yield lambda chunk: writer.write_table(chunk.cast(arrow_schema))
    else:
        import pyarrow.csv as pacsv

        with pacsv.CSVWriter(path, arrow_schema) as writer:
            yield lambda chunk: writer.write_table(chunk.cast(arrow_schema))


def _require_parent(path: Path) -> None:
    """Folders the user did not name are never created: a typo must not make ``/nonexistent``."""
    if not path.parent.is_dir():
        raise CliError(f"the folder {path.parent} does not exist; create it first or choose another --output")


@contextlib.contextmanager
def _replacing(target: Path, force: bool) -> Iterator[Path]:
    """A ``.partial`` path to write; renamed over ``target`` on success, removed on failure."""
    if target.exists() and not force:
        raise CliError(f"{target} exists; pass --force to replace it")
    _require_parent(target)
    partial = target.with_name(target.name + ".partial")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, required=True, help="otlp-json, parquet or csv")
    parser.add_argument(
        "--output", required=True, metavar="PATH",
        help="otlp-json: a file ('-' for stdout); parquet/csv: a folder that gets one file per table",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="replace files that already exist")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
