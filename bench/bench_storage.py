"""Bytes on disk per million events, for realistic events, against the same events as OTLP JSON Lines.

Events go through the whole pipeline with the default settings (anonymizer, batches of up to 1,024 spans
per DuckDB transaction), so what is measured is what a user's disk holds:

* realistic: ``telemetry.demo.run_demo``, a seeded simulated PEFT Studio workload (sessions, settings,
  model and dataset loads, training runs with hyperparameters, failures with real exceptions and stack
  traces, timings, HTTP request spans);
* simple: ``training_started`` with the 10 properties of ``bench_pipeline``.

The size is the database file plus its WAL once the service has shut down. Baseline, same run, same
rows: ``export_all`` of the log, i.e. the same events as compact OTLP JSON Lines (the interchange format a
user could keep instead). Figures are marginal (an empty log's size subtracted) and scaled to one million
events; the empty log's size is printed. ``--quick``: 5,000 events, extrapolated.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PROPERTIES, Figure, Report
from exporters.eventlog import schema
from telemetry import TelemetryService, TelemetrySettings
from telemetry.demo import run_demo

MIB = 1024 * 1024


def _service(home: Path) -> TelemetryService:
    return TelemetryService(
        TelemetrySettings(
            home=home, install_global=False, sample_resources=False, do_not_track=False, max_events=10_000_000
        )
    )


def _on_disk(service: TelemetryService) -> int:
    db = service.settings.db_path
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def _fill_simple(service: TelemetryService, events: int) -> None:
    high_water = service.settings.queue_size // 2
    for i in range(events):
        service.track_event_sync("training_started", PROPERTIES)
        if i % 1024 == 0:
            while service.stats().queued > high_water:
                time.sleep(0.002)


def measure(fill: Callable[[TelemetryService, int], object], events: int, tmp: Path) -> dict[str, float]:
    """Record ``events`` through ``fill`` into a fresh home; sizes of the log and of its OTLP export."""
    service = _service(tmp / "home")
    service.enable().result(30)
    start = time.perf_counter()
    fill(service, events)
    service.flush(600)
    elapsed = time.perf_counter() - start
    with service.event_log.reader() as con:
        row = con.execute(f"SELECT count(*) FROM {schema.SPANS}").fetchone()
    spans = int(row[0]) if row else 0
    summary = service.export_all(tmp / "export.jsonl").result(600)
    service.shutdown(60)
    size = _on_disk(service)
    return {"bytes": size, "otlp_bytes": summary.bytes_written, "spans": spans, "seconds": elapsed}


def empty_log_bytes(tmp: Path) -> int:
    service = _service(tmp / "empty")
    service.enable().result(30)
    service.flush(30)
    service.shutdown(30)
    return _on_disk(service)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events, extrapolated")
    parser.add_argument("--events", type=int, default=None, help="events per kind (default 100,000)")
    args = parser.parse_args(argv)
    events = args.events or (5_000 if args.quick else 100_000)
    scale = 1_000_000 / events
    report = Report(f"Storage: bytes on disk per million events ({events:,} recorded, scaled) (issue 7)")
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp_dir:
        tmp = Path(tmp_dir)
        empty = empty_log_bytes(tmp)
        kinds: dict[str, Callable[[TelemetryService, int], object]] = {
            "realistic (demo workload)": lambda service, n: run_demo(service, n, seed=7),
            "simple (10 properties)": _fill_simple,
        }
        for kind, fill in kinds.items():
            result = measure(fill, events, tmp / kind.split(" ")[0])
            ours = (result["bytes"] - empty) * scale / MIB
            otlp = result["otlp_bytes"] * scale / MIB
            print(
                f"{kind}: {events:,} records -> {int(result['spans']):,} spans in {result['seconds']:.1f} s; "
                f"log {result['bytes'] / MIB:.1f} MiB (empty log {empty / MIB:.2f} MiB), "
                f"OTLP JSON {result['otlp_bytes'] / MIB:.1f} MiB"
            )
            baseline = f"same events as OTLP JSON Lines, {kind.split(' ')[0]}"
            report.add(Figure(baseline, "MiB/M", [otlp], notes="export_all of the same log"))
            report.add(
                Figure(
                    f"DuckDB event log, {kind}",
                    "MiB/M",
                    [ours],
                    notes=f"{(result['bytes'] - empty) / events:.0f} B/event",
                )
            )
            report.ratio(f"DuckDB event log, {kind}", baseline)
    report.print()
    print(f"results: {report.save('storage')}")
    return report


if __name__ == "__main__":
    main()
