"""Several real processes on one event log file: no lost rows, no lock-outs, no hangs, crash safety."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pytest
from _exporter_helpers import child, ledger_table, make_spans
from opentelemetry.sdk.trace.export import SpanExportResult

from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog, EventLogError, schema


def _finish(proc, timeout: float = 120) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


def test_two_writer_processes_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    batches, rows = 40, 50
    writers = [child("write", str(db), str(w), str(batches), str(rows)) for w in (1, 2)]
    reader = child("read", str(db), "3")
    outs = [_finish(w) for w in writers]
    read_out, read_err = _finish(reader)

    assert [o.split() for o, _ in outs] == [["done", str(batches * rows)]] * 2
    assert "Traceback" not in read_err
    counts = [int(line) for line in read_out.split()]
    assert counts, "the reader process never got a turn"
    assert counts == sorted(counts), "a reader saw rows disappear"
    with EventLog(db) as log, log.reader() as cur:
        counted = cur.execute("SELECT count(*), count(DISTINCT time_ns) FROM consent_ledger").fetchone()
        assert counted is not None
        total, distinct = counted
        per_writer = dict(cur.execute("SELECT source, count(*) FROM consent_ledger GROUP BY 1").fetchall())
    assert total == distinct == 2 * batches * rows
    assert per_writer == {"w1": batches * rows, "w2": batches * rows}


def test_a_lingering_process_hands_the_file_over_to_a_waiting_one(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    lingerer = child("linger", str(db), "8")
    assert lingerer.stdout is not None
    assert lingerer.stdout.readline().strip() == "open"
    # The other process keeps the file open for an hour unless it notices that we wait.
    with EventLog(db, lock_timeout_s=20) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(3, start=100))
        assert log.stats().consent_ledger == 4
    out, _ = _finish(lingerer)
    assert out.split() == ["opens", "1"]


def test_foreign_holder_makes_export_fail_within_the_timeout_then_recover(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ev.duckdb"
    with EventLog(db) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1))
    holder = child("hold-raw", str(db), "6")
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    log = EventLog(db, lock_timeout_s=0.5)
    errors: list[Exception] = []
    exporter = DuckDBSpanExporter(log, on_error=errors.append)
    spans = make_spans(3)
    caplog.set_level(logging.ERROR, logger="exporters.duckdb")
    # The holder keeps the file 6 s; had export waited for it instead of giving up after 0.5 s, these
    # would succeed.
    results = [exporter.export(spans) for _ in range(3)]
    assert results == [SpanExportResult.FAILURE] * 3
    assert exporter.failed_batches == 3 and exporter.failed_spans == 9
    assert len(errors) == 3 and all(isinstance(e, EventLogError) for e in errors)
    assert len([r for r in caplog.records if r.name == "exporters.duckdb"]) == 1, "log once, count the rest"
    _finish(holder)
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert log.stats().spans == 3
    log.close()


def test_unwritable_location_fails_export_without_raising(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    log = EventLog(blocker / "telemetry" / "ev.duckdb", lock_timeout_s=1)
    exporter = DuckDBSpanExporter(log)
    caplog.set_level(logging.ERROR, logger="exporters.duckdb")
    assert [exporter.export(make_spans(2)) for _ in range(2)] == [SpanExportResult.FAILURE] * 2
    assert len([r for r in caplog.records if r.name == "exporters.duckdb"]) == 1
    with pytest.raises(EventLogError):
        log.stats()
    log.close()


@pytest.mark.parametrize("trial", range(3))
def test_kill_9_during_ingestion_loses_no_committed_batch(tmp_path: Path, trial: int) -> None:
    db = tmp_path / "ev.duckdb"
    rows = 1000
    proc = child("ingest", str(db), str(rows))
    assert proc.stdout is not None
    last = 0
    for _ in range(4 + trial * 3):
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        last = int(line)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with EventLog(db) as log:
        stored = log.stats().consent_ledger
    assert stored >= last, "a committed batch was lost"
    assert stored % rows == 0, "a partial batch was stored"


def _append_in_forked_child(log: EventLog, expect_refusal: bool) -> None:
    exporter = DuckDBSpanExporter(log)
    result = exporter.export(make_spans(2))
    assert result == (SpanExportResult.FAILURE if expect_refusal else SpanExportResult.SUCCESS)
    if expect_refusal:
        with pytest.raises(EventLogError, match="forked"):
            EventLog(log.path).stats()


@pytest.mark.parametrize("open_at_fork", [True, False])
def test_a_forked_child_never_writes_through_the_parents_instance(tmp_path: Path, open_at_fork: bool) -> None:
    import multiprocessing

    with EventLog(tmp_path / "ev.duckdb", linger_s=3600 if open_at_fork else 0, lock_timeout_s=30) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1))
        assert (log._db._conn is not None) is open_at_fork
        proc = multiprocessing.get_context("fork").Process(target=_append_in_forked_child, args=(log, open_at_fork))
        proc.start()
        proc.join(60)
        assert proc.exitcode == 0
        log.append(schema.CONSENT_LEDGER, ledger_table(1, start=900))
        stats = log.stats()
    # duckdb hands a forked child the parent's open instance: the child must refuse rather than write
    # through it. With nothing open at fork time the child records normally.
    assert (stats.consent_ledger, stats.spans) == (2, 0 if open_at_fork else 2)
    with EventLog(tmp_path / "ev.duckdb") as reopened:
        assert reopened.stats().spans == stats.spans


def test_a_resource_is_stored_again_after_another_process_erased_the_file(tmp_path: Path) -> None:
    # The writer remembers which resources it stored, to skip re-inserting them; another process's erase
    # (`peft-telemetry delete` while the app runs) must make it forget.
    db = tmp_path / "ev.duckdb"
    spans = make_spans(3, resource={"os.type": "linux", "session.id": "s1"})
    with EventLog(db, linger_s=0, lock_timeout_s=60) as log:
        exporter = DuckDBSpanExporter(log)
        assert exporter.export(spans[:1]) == SpanExportResult.SUCCESS
        out, _ = _finish(child("erase", str(db)))
        assert "erased" in out
        assert exporter.export(spans[1:]) == SpanExportResult.SUCCESS
        with log.reader() as cur:
            rows = cur.execute("SELECT resource FROM spans_with_resource").fetchall()
    assert len(rows) == 2
    assert all(resource is not None and '"os.type":"linux"' in resource for (resource,) in rows)
