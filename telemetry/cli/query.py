"""``peft-telemetry query``: read-only SQL over the event log, and the named analytics reports.

Read-only is structural (:mod:`telemetry.cli.readonly_sql`): DuckDB's parser and parse tree must show a
statement that only reads, CTEs included, and it then runs on a connection DuckDB itself opened
read-only, with ``enable_external_access=false`` (checked before the query, so
``read_text('/etc/passwd')`` or ``glob`` fail) and extension auto-install/auto-load off. A timer
interrupts a query that holds the event log longer than ``--timeout``, so the running service is never
kept out for long.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import duckdb

from telemetry.cli.common import (
    EXIT_OK,
    CliError,
    build_settings,
    open_event_log,
    render_csv,
    render_table,
    to_json,
)
from telemetry.cli.readonly_sql import validate_sql
from telemetry.cli.reports import REPORTS, run_report

__all__ = ["add_arguments", "query", "validate_sql"]

_CHECK_SAFE = (
    "SELECT current_setting('enable_external_access'), current_setting('access_mode'), "
    "current_setting('autoinstall_known_extensions'), current_setting('autoload_known_extensions')"
)
_SAFE = (False, "read_only", False, False)


def query(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise CliError("--limit must be >= 0")
    if args.timeout <= 0:
        raise CliError("--timeout must be > 0")
    if getattr(args, "lake", None):
        from telemetry.cli.hub import lake_report

        print(lake_report(args))
        return EXIT_OK
    if args.report in _LAKE_ONLY:
        raise CliError(f"the {args.report} report reads a lake: add --lake DIR")
    settings = build_settings(args.home)
    if args.report:
        if args.sql is not None:
            raise CliError("give either SQL or --report, not both")
        print(run_report(args, settings))
        return EXIT_OK
    if args.sql is None:
        raise CliError("query needs SQL (or --report NAME); see peft-telemetry query --help")
    sql = validate_sql(sys.stdin.read() if args.sql == "-" else args.sql)
    columns, rows, truncated = _run(settings, sql, args.limit, args.timeout)
    print(_render(args.format, columns, rows), end="" if args.format == "csv" else "\n")
    if truncated:
        print(
            f"peft-telemetry: showing the first {args.limit:,} rows; use --limit N (0 for all)",
            file=sys.stderr,
        )
    return EXIT_OK


def _run(settings: Any, sql: str, limit: int, timeout_s: float) -> tuple[list[str], list[tuple[Any, ...]], bool]:
    log = open_event_log(settings)
    try:
        with log.read_only() as cur:
            if cur.execute(_CHECK_SAFE).fetchone() != _SAFE:
                raise CliError("refusing to run: the event log connection is not read-only and closed to the outside")
            timer = threading.Timer(timeout_s, cur.interrupt)
            timer.daemon = True
            started = time.monotonic()
            timer.start()
            try:
                result = cur.execute(sql)
                columns = [d[0] for d in result.description or ()]
                rows = result.fetchall() if limit == 0 else result.fetchmany(limit + 1)
            except duckdb.InterruptException:
                raise CliError(f"query stopped after {time.monotonic() - started:.0f} s (--timeout)") from None
            except duckdb.Error as exc:
                raise CliError(_first_line(exc)) from None
            finally:
                timer.cancel()
    finally:
        log.close()
    truncated = limit > 0 and len(rows) > limit
    return columns, rows[:limit] if truncated else rows, truncated


def _render(fmt: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if fmt == "json":
        return to_json([dict(zip(columns, row, strict=True)) for row in rows])
    if fmt == "csv":
        return render_csv(columns, rows)
    table = render_table(columns, rows)
    return f"{table}\n({len(rows):,} row{'s' if len(rows) != 1 else ''})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: Reports only a fleet lake answers (``analytics.fleet.reports.FLEET_REPORTS`` not also local).
_LAKE_ONLY = ("fleet", "metrics")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sql",
        nargs="?",
        help="one read-only SQL statement over the tables spans, span_events, metric_points, consent_ledger, "
        "resources and the view spans_with_resource ('-' reads it from stdin)",
    )
    parser.add_argument(
        "--report",
        choices=sorted({*REPORTS, *_LAKE_ONLY}),
        help=f"a named analytics report instead of SQL ({' and '.join(_LAKE_ONLY)}: over a --lake only)",
    )
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
    parser.add_argument("--limit", type=int, default=1000, help="most rows printed (default 1000; 0 for all)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="stop a query that runs longer (seconds, default 30)"
    )
    parser.add_argument("--since", help="reports: only data newer than this (e.g. 30m, 24h, 7d, or ISO 8601)")
    parser.add_argument("--until", help="reports: only data older than this (same forms as --since)")
    parser.add_argument("--session", help="reports: only this session id")
    parser.add_argument(
        "--event-type",
        action="append",
        dest="event_types",
        metavar="TYPE",
        help="reports: only these event types",
    )
    from telemetry.cli.hub import add_query_arguments

    add_query_arguments(parser)
