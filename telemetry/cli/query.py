"""``peft-telemetry query``: read-only SQL over the event log, and the named analytics reports.

Read-only is enforced three times over: DuckDB's own parser must find exactly one statement of type
SELECT (which covers WITH, FROM-first, VALUES, DESCRIBE, SHOW and SUMMARIZE; COPY, PRAGMA, SET, ATTACH,
INSTALL, DELETE and friends have their own types and are refused before anything runs); the connection
runs with ``enable_external_access=false`` (checked before the query, so ``read_text('/etc/passwd')`` or
``glob`` fail); and the statement runs inside a transaction that is always rolled back. A timer
interrupts a query that holds the event log longer than ``--timeout``, so the running service is never
kept out for long.
"""

from __future__ import annotations

import argparse
import contextlib
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
from telemetry.cli.reports import REPORTS, run_report

_CHECK_SAFE = "SELECT current_setting('enable_external_access')"
_ALLOWED = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE"


def validate_sql(sql: str) -> str:
    """The one read-only statement in ``sql``, or a :class:`CliError` saying why not."""
    if not sql.strip():
        raise CliError("query needs SQL (or --report NAME)")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise CliError(f"SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise CliError(f"query runs exactly one statement, this SQL has {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise CliError(f"query is read-only: only {_ALLOWED} is allowed, not {kind.name}")
    return sql


def query(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise CliError("--limit must be >= 0")
    if args.timeout <= 0:
        raise CliError("--timeout must be > 0")
    if getattr(args, "lake", None):
        from telemetry.cli.hub import lake_report

        print(lake_report(args))
        return EXIT_OK
    if args.report == "fleet":
        raise CliError("the fleet report reads a lake: add --lake DIR")
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
        with log.reader() as cur:
            safe = cur.execute(_CHECK_SAFE).fetchone()
            if not safe or safe[0] is not False:
                raise CliError("refusing to run: the event log connection allows external access")
            timer = threading.Timer(timeout_s, cur.interrupt)
            timer.daemon = True
            cur.begin()
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
                with contextlib.suppress(duckdb.Error):
                    cur.rollback()
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sql",
        nargs="?",
        help="one read-only SQL statement over the tables spans, span_events, metric_points, consent_ledger "
        "('-' reads it from stdin)",
    )
    parser.add_argument("--report", choices=sorted({*REPORTS, "fleet"}), help="a named analytics report instead of SQL")
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
