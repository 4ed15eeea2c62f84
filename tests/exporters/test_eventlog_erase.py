"""erase(): no byte of old data survives in the database, its WAL, set-aside WALs or the spill folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from _exporter_helpers import files_containing, ledger_table, make_spans, marker, partial_table
from opentelemetry.sdk.trace.export import SpanExportResult

from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog, EventLogError, schema


def _record_markers(log: EventLog, markers: list[str]) -> None:
    exporter = DuckDBSpanExporter(log)
    spans = make_spans(50, attributes={"note": markers[0]})  # among many rows: DELETE would leave it
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    # A resource is stored once, in its own table: erased like the rest.
    assert exporter.export(make_spans(1, resource={"host.marker": markers[4]})) == SpanExportResult.SUCCESS
    points = partial_table(
        schema.METRIC_POINTS,
        {
            "name": ["m"],
            "kind": ["gauge"],
            "time_ns": [time.time_ns()],
            "attributes": [f'{{"k":"{markers[1]}"}}'],
        },
    )
    log.append(schema.METRIC_POINTS, points)
    log.append(schema.CONSENT_LEDGER, ledger_table(1, source=markers[2]))


def test_erase_leaves_no_marker_bytes_anywhere(tmp_path: Path) -> None:
    folder = tmp_path / "telemetry"
    markers = [marker() for _ in range(5)]
    with EventLog(folder / "ev.duckdb", linger_s=3600) as log:
        _record_markers(log, markers)
        with log.reader() as cur:
            cur.execute("CHECKPOINT")
        # Positive control: the search finds what is there, so finding nothing later means something.
        assert files_containing(folder, markers[0]) == [log.path]
        assert files_containing(folder, markers[2]) == [log.path]
        assert files_containing(folder, markers[4]) == [log.path]
        # A WAL that is not checkpointed yet also holds data.
        with log.reader() as cur:
            cur.execute("SET wal_autocheckpoint = '1TB'")
        log.append(schema.CONSENT_LEDGER, ledger_table(1, source=markers[3]))
        wal = log.path.with_name("ev.duckdb.wal")
        assert markers[3].encode() in wal.read_bytes()
        # Leftovers of a damaged WAL and of a spill to disk are data too.
        (folder / "ev.duckdb.wal.corrupt-20250101T000000-1").write_text(markers[0])
        (folder / "ev.duckdb.tmp").mkdir()
        (folder / "ev.duckdb.tmp" / "duckdb_temp_storage-0.tmp").write_text(markers[1])

        log.erase()

        for m in markers:
            assert files_containing(folder, m) == [], "erased data is still readable"
        stats = log.stats()
        assert (stats.spans, stats.span_events, stats.metric_points, stats.consent_ledger) == (0, 0, 0, 0)
        with log.reader() as cur:
            assert cur.execute(f"SELECT count(*) FROM {schema.RESOURCES}").fetchone() == (0,)
        assert not (folder / "ev.duckdb.tmp").exists()
        # The fresh log records again.
        log.append(schema.CONSENT_LEDGER, ledger_table(1, source="delete_all"))
        assert log.stats().consent_ledger == 1


def test_erase_waits_for_readers_on_other_threads(tmp_path: Path) -> None:
    with EventLog(tmp_path / "ev.duckdb") as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(5))
        inside, release = threading.Event(), threading.Event()
        seen: list[int] = []

        def read() -> None:
            with log.reader() as cur:
                inside.set()
                release.wait(10)
                row = cur.execute("SELECT count(*) FROM consent_ledger").fetchone()
                seen.append(row[0] if row else -1)

        reader = threading.Thread(target=read)
        reader.start()
        inside.wait(10)
        eraser = threading.Thread(target=log.erase)
        eraser.start()
        eraser.join(0.2)
        assert eraser.is_alive(), "erase did not wait for the reader"
        release.set()
        reader.join()
        eraser.join()
        assert seen == [5]
        assert log.stats().consent_ledger == 0


def test_erase_inside_a_reader_on_the_same_thread_is_refused(tmp_path: Path) -> None:
    with EventLog(tmp_path / "ev.duckdb") as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1))
        with log.reader(), pytest.raises(EventLogError):
            log.erase()
        assert log.stats().consent_ledger == 1
