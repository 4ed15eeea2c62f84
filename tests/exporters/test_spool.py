"""The spool in front of the event log: frames, kill -9 recovery (exactly once), erase, fork, reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _exporter_helpers import REPO, ledger_table, make_spans, recording_provider
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from analytics import AnalyticsFilter
from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog, schema
from exporters.eventlog.spool import Spool, decode, encode
from telemetry.testing import recording_service

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the spool is POSIX-only (flock)")
CHILD = Path(__file__).with_name("_spool_child.py")


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DO_NOT_TRACK", None)
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _wait_for(proc: subprocess.Popen[str], line: str) -> None:
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    if got != line:
        proc.kill()
        raise AssertionError(f"child said {got!r}: {proc.communicate(timeout=30)[1]}")


def _spool_files(db: Path) -> list[Path]:
    folder = db.with_name(db.name + ".spool")
    return sorted(folder.iterdir()) if folder.exists() else []


def _span_counts(db: Path) -> tuple[int, int, int]:
    """(spans, distinct (trace_id, span_id), resources), read through a fresh EventLog (which recovers)."""
    with EventLog(db) as log, log.reader() as cur:
        row = cur.execute(
            "SELECT count(*), count(DISTINCT (trace_id, span_id)), (SELECT count(*) FROM resources) FROM spans"
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


# -- frames ---------------------------------------------------------------------------------------------


def _ledger_rows(n: int, *, start: int = 0) -> list[tuple[object, ...]]:
    return [tuple(row.values()) for row in ledger_table(n, start=start).to_pylist()]


def _values(frames: list[dict[str, tuple[tuple[str, ...], list[list[object]]]]], table: str) -> list[list[object]]:
    return [list(row) for frame in frames if table in frame for row in frame[table][1]]


def test_frames_round_trip_every_table_and_row() -> None:
    ledger = _ledger_rows(3, start=7)
    resource = [("r" * 16, 5, b'{"service.name":"x"}')]
    frames, rows = decode(encode({"consent_ledger": ledger, "resources": resource}) + encode({"resources": resource}))
    assert rows == 3 + 1 + 1
    assert frames[0]["consent_ledger"] == (schema.column_names("consent_ledger"), [list(r) for r in ledger])
    assert _values(frames, "resources") == [["r" * 16, 5, '{"service.name":"x"}']] * 2  # JSON as its text


def test_a_torn_last_frame_loses_that_frame_only_at_every_cut() -> None:
    first, second = encode({"consent_ledger": _ledger_rows(2)}), encode({"consent_ledger": _ledger_rows(1, start=2)})
    last = encode({"consent_ledger": _ledger_rows(40, start=100)})
    data = first + second + last
    assert decode(data)[1] == 43
    for cut in range(len(first + second), len(data)):
        frames, rows = decode(data[:cut])
        assert rows == 3, cut
        assert [row[0] for row in _values(frames, "consent_ledger")] == [0, 1, 2]
    damaged = bytearray(data)
    damaged[len(first) + 20] ^= 0xFF  # a flipped bit in the second frame: it and all after it are dropped
    assert decode(bytes(damaged))[1] == 2


_SPAN_TABLES = (schema.SPANS, schema.SPAN_EVENTS, schema.RESOURCES)


def _odd_spans() -> list[ReadableSpan]:
    """Spans with every kind of column value: events, links, a parent, redaction counts, an error, a
    metric, a float, a lone surrogate (repaired), a second resource."""
    with recording_provider({"service.name": "other", "session.id": "s-1"}) as (provider, memory):
        tracer = provider.get_tracer("odd", "2.0")
        with tracer.start_as_current_span("parent\ud800", kind=SpanKind.SERVER) as parent:
            parent.set_attribute("http.route", "/x")
            parent.set_attribute(schema.ATTR_REDACTIONS, '{"email": 2}')
            parent.add_event("exception", {"exception.type": "ValueError", "n": 1.25})
            parent.add_event("second", {"list": [1, 2, 3]})
            parent.set_status(Status(StatusCode.ERROR, "bad \udc80 thing"))
            child = tracer.start_span("child", links=[Link(parent.get_span_context(), {"k": "v"})])
            child.set_attribute(schema.ATTR_METRIC_NAME, "loss")
            child.set_attribute(schema.ATTR_METRIC_VALUE, 0.1 + 0.2)
            child.set_attribute(schema.ATTR_METRIC_UNIT, "1")
            child.set_attribute("big", 2**62)
            child.end()
        return list(memory.get_finished_spans())


def test_spooled_spans_reach_duckdb_exactly_as_spans_written_straight(tmp_path: Path) -> None:
    """The same spans (events, links, redactions, a lone surrogate, odd attribute types) through the spool
    and straight to DuckDB give identical rows, column by column, in all three tables."""
    spans = make_spans(6, name="same") + _odd_spans()
    stored = []
    for name, interval in (("spooled", 3600.0), ("direct", 0.0)):
        with EventLog(tmp_path / f"{name}.duckdb", merge_interval_s=interval) as log:
            assert DuckDBSpanExporter(log).export(spans) is SpanExportResult.SUCCESS
            assert (log.merge_due_in() is not None) == (interval > 0)
            with log.reader() as cur:
                stored.append({t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in _SPAN_TABLES})
    assert all(stored[0][t] for t in _SPAN_TABLES)
    for table in _SPAN_TABLES:
        assert stored[0][table] == stored[1][table], table


def test_frames_merged_already_are_not_read_again_behind_newer_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "ev.duckdb")
    for start in (0, 10, 20):
        spool.append({"consent_ledger": _ledger_rows(3, start=start)})
    with spool.taking() as taken:
        assert taken is not None and taken[1] == 9
    (path,) = _spool_files(tmp_path / "ev.duckdb")
    assert decode(path.read_bytes())[1] == 0  # emptied: what a crash now would leave is nothing
    spool.append({"consent_ledger": _ledger_rows(1, start=99)})
    frames, rows = decode(path.read_bytes())  # the new frame, then old ones of an earlier epoch: skipped
    assert rows == 1 and _values(frames, "consent_ledger")[0][0] == 99
    spool.release()


# -- kill -9 ---------------------------------------------------------------------------------------------


def test_events_flushed_before_a_kill_are_recovered_by_the_next_process(tmp_path: Path) -> None:
    proc = _spawn("service", str(tmp_path), "25")
    _wait_for(proc, "spooled")
    db = tmp_path / "telemetry" / "events.duckdb"
    files = _spool_files(db)
    assert len(files) == 1 and decode(files[0].read_bytes())[1] >= 25  # flushed: in the spool, fsynced
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with EventLog(db) as log, log.reader() as cur:
        stored = cur.execute(
            "SELECT count(*), count(DISTINCT span_id) FROM spans WHERE event_type = 'spooled_event'"
        ).fetchone()
    assert stored == (25, 25)
    assert _spool_files(db) == []  # merged, then removed
    assert _span_counts(db)[0] == 25  # a second look merges nothing twice


def test_a_killed_exporter_s_spool_is_merged_once_with_its_resource(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    proc = _spawn("spool", str(db), "12")
    _wait_for(proc, "spooled")
    # Alive, it holds its file: another process leaves it alone.
    with EventLog(db) as log, log.reader() as cur:
        assert cur.execute("SELECT count(*) FROM spans").fetchone() == (0,)
    assert len(_spool_files(db)) == 1
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert _span_counts(db) == (12, 12, 1)


def test_a_crash_between_commit_and_emptying_stores_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    proc = _spawn("merged-copy", str(db), "10")
    _wait_for(proc, "merged")
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    orphans = _spool_files(db)
    assert any(decode(p.read_bytes())[1] == 10 + 1 for p in orphans)  # 10 spans + their resource, again
    assert _span_counts(db) == (10, 10, 1)
    assert _spool_files(db) == []


# -- erase -----------------------------------------------------------------------------------------------


def test_erase_wipes_a_live_process_s_spool_and_nothing_comes_back(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    proc = _spawn("erased", str(db), "8")
    _wait_for(proc, "spooled")
    with EventLog(db) as log:
        log.erase()
        assert _spool_files(db) == []
    out, err = proc.communicate("go\n", timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["before", "0", "after", "3"]  # erased rows discarded, later ones kept
    assert _span_counts(db)[:2] == (3, 3)


def test_erase_in_the_spooling_process_discards_its_own_spool(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    with EventLog(db, merge_interval_s=3600) as log:
        DuckDBSpanExporter(log).export(make_spans(4))
        assert log.merge_due_in() is not None
        log.erase()
        assert log.merge_due_in() is None
        with log.reader() as cur:
            assert cur.execute("SELECT count(*) FROM spans").fetchone() == (0,)


# -- in this process -----------------------------------------------------------------------------------


def test_reads_in_the_recording_process_see_spooled_events_at_once(tmp_path: Path) -> None:
    with recording_service(tmp_path, merge_interval_s=300) as service:
        pipeline = service._pipeline()

        def spool(n: int) -> None:
            for i in range(n):
                service.track_event_sync("seen_at_once", {"i": i})
            assert pipeline.background.force_flush(10_000)
            assert service.event_log.merge_due_in() is not None  # spooled, not merged

        spool(5)
        assert service.analytics.report(AnalyticsFilter()).totals.total_events == 5
        spool(2)
        summary = service.export_all(tmp_path / "out.jsonl").result(30)  # the service API
        assert summary.spans == 7


def test_a_trickle_that_stops_is_merged_without_a_flush(tmp_path: Path) -> None:
    with recording_service(tmp_path, merge_interval_s=0.3) as service:
        service.track_event_sync("trickle")
        log = service.event_log
        deadline = time.monotonic() + 10
        while log.merge_due_in() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # the flush puts it in the spool
        assert log.merge_due_in() is not None
        while log.merge_due_in() is not None and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker wakes at the merge deadline with no new event
        assert log.merge_due_in() is None
        assert all(decode(p.read_bytes())[1] == 0 for p in _spool_files(log.path))


def test_a_forked_child_does_not_write_into_the_parent_s_spool(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    with EventLog(db, merge_interval_s=3600) as log:
        DuckDBSpanExporter(log).export(make_spans(2))
        parent_file = _spool_files(db)[0]
        size = parent_file.stat().st_size
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            ok = log.merge_due_in() is None
            DuckDBSpanExporter(log).export(make_spans(1))
            os._exit(0 if ok and len(_spool_files(db)) == 2 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert parent_file.stat().st_size == size
        assert log.merge()
    # The child's spool (its owner gone) is recovered with the parent's rows: 2 + 1 spans.
    assert _span_counts(db)[:2] == (3, 3)


def test_ledger_and_direct_appends_do_not_go_through_the_spool(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    with EventLog(db, merge_interval_s=3600) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(2))
        assert log.merge_due_in() is None
        assert log.stats().consent_ledger == 2


def test_a_burst_goes_straight_to_duckdb_and_a_trickle_to_the_spool(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    with EventLog(db, merge_interval_s=3600) as log:
        exporter = DuckDBSpanExporter(log)
        exporter.export(make_spans(300, name="burst"))
        assert log.merge_due_in() is None  # committed, nothing spooled
        exporter.export(make_spans(2, name="trickle"))
        assert log.merge_due_in() is not None
    assert _span_counts(db)[:2] == (302, 302)  # closing merged the trickle


def test_a_dead_process_s_spool_that_cannot_be_stored_does_not_block_our_merges(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    folder = db.with_name(db.name + ".spool")
    folder.mkdir(mode=0o700)
    # A newer version's frame (a column this version lacks): kept for a process that can store it.
    newer = {"spans": ["trace_id", "span_id", "column_of_a_newer_version"]}
    poisoned = folder / "999-dead.spool"
    poisoned.write_bytes(encode({"spans": [["a" * 32, "b" * 16, 1]]}, epoch=1, columns=newer))
    with EventLog(db, merge_interval_s=3600) as log:
        DuckDBSpanExporter(log).export(make_spans(3))
        assert log.merge()  # ours went in; the dead one's is kept for a later try
        with log.reader() as cur:
            assert cur.execute("SELECT count(*) FROM spans").fetchone() == (3,)
    assert poisoned.exists()


def test_a_spooled_batch_arrow_refuses_is_dropped_whole_and_the_others_are_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from exporters.eventlog.arrow import ResourceCache, spans_to_rows

    span_rows, _, _ = spans_to_rows(make_spans(2, name="odd"), ResourceCache())
    start = schema.column_names(schema.SPANS).index("start_ns")
    bad = [(*row[:start], 2**63 + 1, *row[start + 1 :]) for row in span_rows]  # JSON holds it, int64 not
    with EventLog(tmp_path / "ev.duckdb", merge_interval_s=3600) as log:
        exporter = DuckDBSpanExporter(log)
        exporter.export(make_spans(2, name="before"))
        log.append_spooled({schema.SPANS: bad})
        exporter.export(make_spans(3, name="after"))
        assert not log.merge()  # a loss: never reported as a clean merge
        assert log.spooled_spans_dropped == 2  # counted
        assert log.merge_due_in() is None  # not retried forever
        assert log.merge()  # and the next merge, with nothing lost, is clean again
        with log.reader() as cur:
            stored = dict(cur.execute("SELECT name, count(*) FROM spans GROUP BY 1").fetchall())
        assert stored == {"before": 2, "after": 3}
    assert sum("Arrow refuses" in r.getMessage() for r in caplog.records) == 1


def test_a_full_spool_refuses_batches_and_the_exporter_counts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from exporters.eventlog import spool as spool_module

    monkeypatch.setattr(spool_module, "MAX_SPOOL_BYTES", 16 << 10)
    with EventLog(tmp_path / "ev.duckdb", merge_interval_s=3600) as log:
        exporter = DuckDBSpanExporter(log)
        results = [exporter.export(make_spans(3)) for _ in range(20)]
        assert results[0] is SpanExportResult.SUCCESS and results[-1] is SpanExportResult.FAILURE
        kept = results.count(SpanExportResult.SUCCESS)
        assert exporter.failed_spans == 3 * (20 - kept) and exporter.exported_spans == 3 * kept
        assert sum("the spool holds" in r.getMessage() for r in caplog.records) == 1  # logged once
        assert log.merge()  # room again
        assert exporter.export(make_spans(3)) is SpanExportResult.SUCCESS
        with log.reader() as cur:
            assert cur.execute("SELECT count(*) FROM spans").fetchone() == (3 * kept + 3,)
