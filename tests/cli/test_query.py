"""query: read-only SQL (table, JSON, CSV, row limit), refused statements, and the named reports."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from _cli_helpers import Recorded, Runner, assert_one_line_error

from telemetry.cli.common import CliError
from telemetry.cli.query import validate_sql


def test_sql_in_three_formats(recorded: Recorded) -> None:
    cli, total = recorded.run, recorded.counts["spans"]
    assert total >= 300
    sql = "SELECT category, count(*) AS n FROM spans GROUP BY category ORDER BY category"
    as_json = json.loads(cli("query", sql, "--format", "json").stdout)
    assert sum(row["n"] for row in as_json) == total
    assert {row["category"] for row in as_json} >= {"event", "error", "performance", "http"}
    rows = list(csv.DictReader(io.StringIO(cli("query", sql, "--format", "csv").stdout)))
    assert [(r["category"], int(r["n"])) for r in rows] == [(r["category"], r["n"]) for r in as_json]
    table = cli("query", sql)
    assert table.code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["category", "n"]
    assert lines[-1] == f"({len(as_json)} rows)"


def test_describe_show_and_summarize_are_allowed(recorded: Recorded) -> None:
    for sql in ("DESCRIBE spans", "SHOW TABLES", "SUMMARIZE metric_points", "FROM consent_ledger"):
        result = recorded.run("query", sql, "--format", "json")
        assert result.code == 0, (sql, result.stderr)
        json.loads(result.stdout)


def test_row_limit(recorded: Recorded) -> None:
    cli = recorded.run
    result = cli("query", "SELECT * FROM range(50) t(i)", "--limit", "10", "--format", "json")
    assert result.code == 0, result.stderr
    assert [row["i"] for row in json.loads(result.stdout)] == list(range(10))
    assert "first 10 rows" in result.stderr
    everything = cli("query", "SELECT * FROM range(50) t(i)", "--limit", "0", "--format", "csv")
    assert len(everything.stdout.splitlines()) == 51


# Refused by DuckDB's own parser (statement type), before anything runs.
NOT_A_SELECT = [
    ("DELETE FROM spans", "DELETE"),
    ("COPY spans TO 'stolen.csv'", "COPY"),
    ("SELECT 1; DELETE FROM spans", "one statement"),
    ("PRAGMA table_info('spans')", "PRAGMA"),
    ("ATTACH 'other.db' AS other", "ATTACH"),
    ("SET enable_external_access = true", "SET"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"),
    ("CREATE TABLE x AS SELECT 1", "CREATE"),
    ("EXPORT DATABASE 'dump'", "EXPORT"),
    ("CALL pragma_version()", "CALL"),
    ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN"),
    ("SELEC 1", "parse"),
    ("   ", "needs SQL"),
]


@pytest.mark.parametrize(("sql", "why"), NOT_A_SELECT)
def test_only_one_select_statement_passes_validation(sql: str, why: str) -> None:
    with pytest.raises(CliError, match=re.escape(why)):
        validate_sql(sql)


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("WITH d AS (DELETE FROM spans RETURNING *) SELECT * FROM d", "DELETE"),
        ("WITH d AS (INSERT INTO spans BY NAME SELECT 1 AS x RETURNING *) SELECT * FROM d", "INSERT"),
        ("SELECT 1 UNION ALL (WITH u AS (UPDATE spans SET name = 'x' RETURNING 1) SELECT * FROM u)", "UPDATE"),
        ("SELECT * FROM checkpoint()", "checkpoint()"),
        ("FROM Force_Checkpoint()", "checkpoint()"),
    ],
)
def test_statements_that_write_inside_a_select_are_refused(sql: str, why: str) -> None:
    with pytest.raises(CliError, match=re.escape(why)):
        validate_sql(sql)


def test_the_connection_itself_refuses_writes(recorded: Recorded) -> None:
    """The layer under the parse-tree check: a data-modifying CTE that reached the connection still
    cannot write, because DuckDB opened the file read-only (positive control: the same SQL on a
    read-write cursor does delete)."""
    from exporters.eventlog import EventLog

    log = EventLog(recorded.home / "telemetry" / "events.duckdb")
    sql = "WITH d AS (DELETE FROM consent_ledger RETURNING *) SELECT count(*) FROM d"
    try:
        with log.read_only() as con:
            assert con.execute("SELECT current_setting('access_mode')").fetchone() == ("read_only",)
            with pytest.raises(Exception, match="read-only"):
                con.execute(sql)
            assert con.execute("SELECT count(*) FROM consent_ledger").fetchone()[0] > 0
        with log.reader() as cur:
            cur.begin()
            assert cur.execute(sql).fetchone()[0] > 0  # the control: writable connections do run it
            cur.rollback()
    finally:
        log.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "WITH a AS (SELECT 1) FROM a",
        "DESCRIBE spans",
        "SUMMARIZE spans",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
        "SELECT 'checkpoint()' AS text, 1 UNION SELECT 'DELETE', 2",
    ],
)
def test_read_only_statements_pass_validation(sql: str) -> None:
    assert validate_sql(sql) == sql


def test_refused_statements_are_one_line_and_change_nothing(recorded: Recorded) -> None:
    cli = recorded.run
    for sql, why in [
        ("DELETE FROM spans", "DELETE"),
        ("COPY spans TO 'stolen.csv'", "COPY"),
        ("SELECT 1; DELETE FROM spans", "one statement"),
        # SELECT statements whose parse tree writes: refused by the tree walk before anything runs.
        ("WITH d AS (DELETE FROM spans RETURNING *) SELECT count(*) FROM d", "DELETE"),
        ("SELECT * FROM (WITH u AS (UPDATE spans SET name = 'x' RETURNING 1) SELECT * FROM u)", "UPDATE"),
        ("SELECT * FROM checkpoint()", "checkpoint()"),
        ("SELECT (SELECT count(*) FROM force_checkpoint())", "force_checkpoint()"),
        # These parse as SELECT: external access being off is what stops them.
        ("SELECT * FROM read_text('/etc/passwd')", "/etc/passwd"),
        ("SELECT * FROM glob('/etc/*')", "disabled"),
        ("SELECT * FROM read_csv('stolen.csv')", "disabled"),
        ("SELECT * FROM nope", "nope"),
    ]:
        result = cli("query", sql)
        assert_one_line_error(result, why)
        assert "root:" not in result.stdout + result.stderr
    assert not list(recorded.home.parent.rglob("stolen.csv"))
    after = cli("query", "SELECT count(*) AS n FROM spans", "--format", "json")
    assert json.loads(after.stdout)[0]["n"] == recorded.counts["spans"]


def test_query_needs_sql_or_a_report(cli: Runner) -> None:
    assert_one_line_error(cli("query"), "--report")
    assert_one_line_error(cli("query", "SELECT 1", "--report", "summary"), "either")


def test_summary_report_shows_the_numbers(recorded: Recorded) -> None:
    cli = recorded.run
    result = cli("query", "--report", "summary", "--format", "json")
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    totals = report["totals"]
    assert totals["total_spans"] == recorded.counts["spans"]
    assert totals["total_events"] > 0 and totals["errors"] >= 1 and totals["sessions"] >= 2
    assert abs(sum(row["percentage"] for row in report["event_breakdown"]) - 100) < 0.5
    steps = next(m for m in report["performance"] if m["metric_name"] == "training_step_time")
    assert steps["count"] > 0 and steps["min"] <= steps["p50"] <= steps["p95"] <= steps["max"]
    assert "/api/training/start" in {r["route"] for r in report["api_response_times"]}
    assert "torch.cuda.OutOfMemoryError" in {e["error_type"] for e in report["errors_by_type"]}
    assert {r["rule_id"] for r in report["redactions"]}  # the anonymizer was at work
    table = cli("query", "--report", "summary")
    assert table.code == 0
    for title in ("Totals", "Event breakdown", "Performance", "Errors by type", "Sessions", "Redactions"):
        assert f"\n{title}" in "\n" + table.stdout, title
    assert f"total_spans               {recorded.counts['spans']}" in table.stdout


def test_every_report_in_every_format(recorded: Recorded) -> None:
    cli = recorded.run
    for name in ("events", "performance", "errors", "sessions"):
        for fmt in ("table", "json", "csv"):
            result = cli("query", "--report", name, "--format", fmt)
            assert result.code == 0, (name, fmt, result.stderr)
            if fmt == "json":
                assert json.loads(result.stdout)
            elif fmt == "csv":
                rows = list(csv.reader(io.StringIO(result.stdout)))
                assert rows and rows[0], (name, rows)
    errors = list(csv.DictReader(io.StringIO(cli("query", "--report", "errors", "--format", "csv").stdout)))
    assert sum(int(row["count"]) for row in errors) == recorded.counts["span_events"]


def test_report_filters(recorded: Recorded) -> None:
    cli = recorded.run

    def totals(*flags: str) -> dict[str, int]:
        result = cli("query", "--report", "summary", "--format", "json", *flags)
        assert result.code == 0, result.stderr
        return json.loads(result.stdout)["totals"]

    only = cli("query", "--report", "events", "--format", "json", "--event-type", "training_started")
    assert [row["event_type"] for row in json.loads(only.stdout)["event_breakdown"]] == ["training_started"]
    assert totals("--session", "no-such-session")["total_spans"] == 0
    assert totals("--until", "2001-01-01")["total_spans"] == 0
    assert totals("--since", "2001-01-01")["total_spans"] == recorded.counts["spans"]
    assert_one_line_error(cli("query", "--report", "summary", "--since", "yesterday-ish"), "--since")
    assert_one_line_error(cli("query", "--report", "summary", "--since", "1h", "--until", "2h"), "before")


def test_sql_from_stdin_and_a_query_stopped_by_its_timeout(cli: Runner) -> None:
    from_stdin = cli("query", "-", "--format", "csv", stdin="SELECT 42 AS answer")
    assert from_stdin.code == 0, from_stdin.stderr
    assert from_stdin.stdout.splitlines() == ["answer", "42"]
    endless = cli("query", "SELECT count(*) FROM range(1000000000000)", "--timeout", "0.5")
    assert_one_line_error(endless, "stopped", "--timeout")
