"""Hostile values stay values, an empty log answers with zeros, failures are typed and say nothing private,
and reads run while another thread writes."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import duckdb
import pytest
from _analytics_helpers import NS, T0, Connect, insert, opener, span

from analytics import Analytics, AnalyticsError, AnalyticsFilter, AnalyticsReport, queries
from exporters.eventlog import EventLog, EventLogError, schema

ATTACKS = [
    "x' OR 1=1 --",
    "'; DROP TABLE spans; --",
    "training_started' OR 'a'='a",
    "\\' UNION SELECT * FROM spans --",
    "') OR TRUE; DELETE FROM consent_ledger; --",
    "' || (SELECT read_text('/etc/passwd')) || '",
    "$start_ns",
    "%s {where} ?",
]
HARMLESS = "no-such-value"


def _tables(connect: Connect) -> dict[str, int]:
    with connect() as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in sorted(names)}  # type: ignore[index]


def _body(report: AnalyticsReport) -> dict[str, object]:
    body = report.model_dump(exclude={"filter"})
    body["sessions"].pop("current_session_id")
    return body


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("field", ["event_types", "session_id", "current_session_id"])
def test_injection_in_every_field_is_just_a_value(connect: Connect, field: str, attack: str) -> None:
    analytics = Analytics(connect)
    before = _tables(connect)

    def run(value: str) -> AnalyticsReport:
        if field == "current_session_id":
            return analytics.report(current_session_id=value)
        return analytics.report(AnalyticsFilter(**{field: [value] if field == "event_types" else value}))

    attacked, harmless = run(attack), run(HARMLESS)
    assert _body(attacked) == _body(harmless)
    assert _tables(connect) == before  # nothing dropped, deleted or added
    if field != "current_session_id":
        assert attacked.totals.total_spans == 0  # it matched nothing, as a plain string would


def test_a_value_that_looks_like_sql_matches_when_it_is_stored(empty_path: Path) -> None:
    with duckdb.connect(str(empty_path)) as con:
        insert(con, schema.SPANS, [span(i, "event", ATTACKS[i % 2], session_id=ATTACKS[2]) for i in range(6)])
    analytics = Analytics(opener(empty_path))
    f = AnalyticsFilter(event_types=[ATTACKS[0]], session_id=ATTACKS[2])
    assert [(b.event_type, b.count) for b in analytics.event_breakdown(f)] == [(ATTACKS[0], 3)]


def test_sql_holds_no_placeholder_for_text(connect: Connect) -> None:
    # Values reach DuckDB only as $parameters: no statement keeps a Python format field to fill.
    for name, sql in queries.ALL.items():
        assert not re.search(r"\{[^}]*\}", sql), name
        assert "?" not in sql, name


def test_every_method_on_an_empty_log_answers_zeros(empty_path: Path) -> None:
    analytics = Analytics(opener(empty_path))
    report = analytics.report(current_session_id="s1")
    t = report.totals
    assert (t.total_events, t.total_spans, t.errors, t.performance_measurements, t.event_types, t.sessions) == (
        0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    assert (t.first_ns, t.last_ns) == (None, None)
    assert report.event_breakdown == [] and report.errors_by_type == [] and report.performance == []
    assert report.events_over_time.buckets == [] and report.slowest_distribution.bins == []
    assert report.api_response_times == [] and report.redactions == [] and report.consent_history == []
    s = report.sessions
    assert (s.count, s.avg_s, s.median_s, s.max_s, s.current_s) == (0, 0.0, 0.0, 0.0, None)
    assert report.system_info.model_dump() == dict.fromkeys(report.system_info.model_dump())
    assert analytics.totals() == t and analytics.sessions() == s.model_copy(update={"current_session_id": None})
    assert analytics.events_over_time(AnalyticsFilter(start_ns=T0, end_ns=T0 + 60 * NS)).buckets == []


def test_failure_is_typed_counted_logged_once_and_private(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "not-migrated.duckdb"
    duckdb.connect(str(path)).close()  # a file without the schema: every query fails
    analytics = Analytics(opener(path))
    secret = "session-of-alice@example.com"
    with caplog.at_level(logging.ERROR, logger="analytics.engine"):
        for _ in range(3):
            with pytest.raises(AnalyticsError) as info:
                analytics.report(AnalyticsFilter(session_id=secret))
    assert isinstance(info.value, EventLogError)  # callers map it like any event log failure (503)
    assert info.value.query == "event_breakdown" and info.value.__cause__ is None
    assert secret not in str(info.value)
    assert analytics.failures == 3
    assert len(caplog.records) == 1 and secret not in caplog.text


def test_construction_refuses_a_non_callable() -> None:
    with pytest.raises(ValueError, match="callable"):
        Analytics("events.duckdb")  # type: ignore[arg-type]


def _consistent(report: AnalyticsReport) -> None:
    assert report.totals.total_events == sum(b.count for b in report.event_breakdown)
    assert report.totals.total_events == sum(b.events for b in report.events_over_time.buckets)


def test_reports_are_consistent_while_another_thread_appends(empty_path: Path) -> None:
    """A cursor per thread: the writer commits batches while two readers ask for whole reports."""
    base = duckdb.connect(str(empty_path))
    stop = threading.Event()
    errors: list[BaseException] = []
    written = [0]

    def writer() -> None:
        cur = base.cursor()
        try:
            i = 0
            while not stop.is_set() and i < 20_000:
                insert(cur, schema.SPANS, [span(i + k, "event", f"type_{(i + k) % 7}") for k in range(100)])
                i += 100
                written[0] = i
        except BaseException as exc:
            errors.append(exc)
        finally:
            cur.close()

    def connect_cursor() -> Connect:
        from contextlib import contextmanager

        @contextmanager
        def connect():  # type: ignore[no-untyped-def]
            cur = base.cursor()
            try:
                yield cur
            finally:
                cur.close()

        return connect

    seen: list[list[int]] = [[], []]

    def reader(n: int) -> None:
        analytics = Analytics(connect_cursor())
        try:
            for _ in range(15):
                report = analytics.report()
                _consistent(report)
                seen[n].append(report.totals.total_events)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader, args=(n,)) for n in range(2))]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join()
    stop.set()
    threads[0].join()
    try:
        assert errors == []
        for counts in seen:
            assert counts == sorted(counts) and len(counts) == 15  # never goes back
        assert Analytics(connect_cursor()).totals().total_events == written[0]
    finally:
        base.close()


def test_reads_through_the_event_log_while_it_writes(tmp_path: Path) -> None:
    """The real supplier of connections: ``EventLog.reader``, with the writer on another thread."""
    import pyarrow as pa

    log = EventLog(tmp_path / "events.duckdb")
    names = schema.column_names(schema.SPANS)
    types = {"start_ns": pa.int64(), "end_ns": pa.int64(), "duration_ms": pa.float64(), "metric_value": pa.float64()}
    stop = threading.Event()

    def batch(start: int) -> pa.Table:
        rows = [span(i, "event", "model_loaded") for i in range(start, start + 50)]
        columns = [n for n in names if n in rows[0]]
        return pa.table({n: pa.array([r[n] for r in rows], types.get(n, pa.string())) for n in columns})

    def writer() -> None:
        i = 0
        while not stop.is_set():
            log.append(schema.SPANS, batch(i))
            i += 50

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        analytics = Analytics(log.reader)
        seen = []
        for _ in range(10):
            report = analytics.report()
            _consistent(report)
            seen.append(report.totals.total_events)
    finally:
        stop.set()
        thread.join()
        log.close()
    assert seen == sorted(seen) and all(n % 50 == 0 for n in seen)  # whole batches, never half of one
