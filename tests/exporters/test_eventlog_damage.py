"""A garbage or truncated database, and a garbage or truncated WAL: the log is set aside or replayed
loudly, the app keeps recording, and the log line names what was lost and where the damaged file is."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import duckdb
import pytest
from _exporter_helpers import child, ledger_table, make_spans
from opentelemetry.sdk.trace.export import SpanExportResult

from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog, EventLogError, schema
from exporters.eventlog.recovery import KEPT_REPLAY_COPIES

BATCHES, ROWS = 6, 500


def _crash_leaving_a_wal(db: Path) -> bytes:
    proc = child("wal-crash", str(db), str(BATCHES), str(ROWS))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    wal = db.with_name(db.name + ".wal")
    assert wal.stat().st_size > 0
    return wal.read_bytes()


def _keeps_recording(db: Path) -> int:
    with EventLog(db) as log:
        assert DuckDBSpanExporter(log).export(make_spans(3)) == SpanExportResult.SUCCESS
        log.append(schema.CONSENT_LEDGER, ledger_table(1, start=10**15))
        stats = log.stats()
    assert stats.spans == 3
    return stats.consent_ledger


def _errors(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and words in r.getMessage()]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_database_is_set_aside_loudly_and_a_fresh_one_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    db = tmp_path / "ev.duckdb"
    with EventLog(db) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(100))
    good = db.read_bytes()
    bad = {"garbage": os.urandom(len(good)), "truncated": good[: len(good) // 3], "empty": b""}[damage]
    db.write_bytes(bad)
    caplog.set_level(logging.ERROR, logger="exporters.eventlog")

    assert _keeps_recording(db) == 1  # a fresh log: the one ledger row written after the damage

    [message] = _errors(caplog, "DATABASE WAS DAMAGED")
    [aside] = tmp_path.glob("ev.duckdb.corrupt-*")
    assert str(aside) in message and f"({len(bad)} bytes)" in message
    assert aside.read_bytes() == bad  # kept as it was, for inspection
    with EventLog(db) as log:  # and the fresh one opens quietly next time
        assert log.stats().consent_ledger == 1
    assert len(_errors(caplog, "DATABASE WAS DAMAGED")) == 1


def test_a_garbage_wal_that_duckdb_skips_is_named_and_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ev.duckdb"
    data = _crash_leaving_a_wal(db)
    garbage = os.urandom(len(data))
    db.with_name("ev.duckdb.wal").write_bytes(garbage)
    caplog.set_level(logging.WARNING, logger="exporters.eventlog")

    ledger = _keeps_recording(db)

    assert ledger == 1  # the 3,000 committed rows were only in the WAL: lost, but not silently
    [message] = _errors(caplog, "COULD NOT BE REPLAYED")
    [aside] = tmp_path.glob("ev.duckdb.wal.corrupt-*")
    assert str(aside) in message and f"{len(garbage)} bytes" in message
    assert aside.read_bytes() == garbage
    assert not list(tmp_path.glob("*.checking"))
    assert not list(tmp_path.glob("*.replayed-*"))  # the WAL itself is kept aside: no second copy


def test_a_truncated_wal_is_replayed_as_far_as_it_goes_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ev.duckdb"
    data = _crash_leaving_a_wal(db)
    truncated = data[: len(data) // 2]
    db.with_name("ev.duckdb.wal").write_bytes(truncated)
    caplog.set_level(logging.WARNING, logger="exporters.eventlog")

    ledger = _keeps_recording(db)

    restored = ledger - 1
    assert 0 < restored < BATCHES * ROWS and restored % ROWS == 0  # whole batches, never a partial one
    # What the replay could not restore is not lost: the WAL as it was is kept, and the line names it.
    [copy] = tmp_path.glob("ev.duckdb.wal.replayed-*")
    assert copy.read_bytes() == truncated
    assert copy.stat().st_mode & 0o777 == 0o600
    replays = [r.getMessage() for r in caplog.records if "replayed a write-ahead log" in r.getMessage()]
    assert replays == [f"event log: replayed a write-ahead log left by a process that stopped without closing "
                       f"the log ({len(truncated)} bytes, {restored} rows restored); a copy of it as it was is "
                       f"kept at {copy}"]  # fmt: skip
    with EventLog(db) as log:  # the next open replays nothing, copies nothing
        log.erase()  # and delete_all's erase takes the copy with everything else
    assert not list(tmp_path.glob("ev.duckdb.wal.*"))


def test_a_wal_check_cut_short_by_a_crash_is_undone_at_the_next_open(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    _crash_leaving_a_wal(db)
    wal = db.with_name("ev.duckdb.wal")
    os.replace(wal, db.with_name("ev.duckdb.wal.checking"))  # as if killed between unlink and relink
    with EventLog(db) as log:
        assert log.stats().consent_ledger == BATCHES * ROWS


def test_an_io_error_inside_a_reader_reaches_the_caller_as_an_event_log_error(tmp_path: Path) -> None:
    with EventLog(tmp_path / "ev.duckdb") as log:
        with pytest.raises(EventLogError) as caught, log.reader():
            raise duckdb.IOException("Could not read from file: Input/output error")
        assert isinstance(caught.value.__cause__, duckdb.IOException)
        with pytest.raises(duckdb.CatalogException), log.reader() as cur:  # a query's own error stays
            cur.execute("SELECT * FROM no_such_table")
        log.append(schema.CONSENT_LEDGER, ledger_table(1))  # reopened, usable
        assert log.stats().consent_ledger == 1


def test_copies_of_replayed_wals_are_bounded_to_the_newest(tmp_path: Path) -> None:
    # Every crash leaves a WAL that the next open replays and copies: the copies must not grow without bound.
    db = tmp_path / "ev.duckdb"
    for _ in range(KEPT_REPLAY_COPIES + 2):
        _crash_leaving_a_wal(db)
        _reopen(db)
    copies = sorted(tmp_path.glob("ev.duckdb.wal.replayed-*"))
    assert len(copies) == KEPT_REPLAY_COPIES
    newest = copies[-1]
    _crash_leaving_a_wal(db)
    _reopen(db)
    after = sorted(tmp_path.glob("ev.duckdb.wal.replayed-*"))
    assert len(after) == KEPT_REPLAY_COPIES and newest in after and copies[0] not in after


def _reopen(db: Path) -> None:
    with EventLog(db) as log:  # the open replays the WAL the crash left (and copies it first)
        log.stats()
