"""Resident memory while a million events pass through ``track_event`` into DuckDB.

Two scenarios, each in a fresh subprocess so one's heap cannot flatter or burden the other, both with the
default settings a user gets (queue 65,536, batch 1,024, DuckDB ``memory_limit`` 32MB):

* healthy: the DuckDB exporter works. The caller submits as fast as the pipeline drains (it waits while
  the queue is more than half full, as a steady app would), so every event is stored;
* blocked: the DuckDB span exporter's ``export`` waits on an ``Event`` that is only set at the end (a hung
  disk). The caller submits at full speed and never waits: the bounded queue must cap memory, and every
  event beyond it is dropped and counted (``service.stats().dropped_queue_full``). At the end the
  exporter is released and we check that stored + dropped == submitted.

RSS is sampled every 20 ms by a thread; growth = peak RSS during the run minus RSS after a warm-up
(service built, consent given, a first batch written). Goal (issue 7): growth under 50 MB, drops counted.
Beside them (issue 18): RSS right after start and after all the events (flushed), ours with consent on
against the bare OTel SDK pipeline (BatchSpanProcessor defaults, no-op exporter) given the same events.
``--quick``: 80,000 events blocked (more than the queue holds) and 10,000 healthy, no drain at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, Report

MIB = 1024 * 1024


class RssSampler:
    """Polls this process's RSS on a daemon thread and keeps the peak."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self._process = psutil.Process()
        self._interval = interval_s
        self._stop = threading.Event()
        self.peak = self.now()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def now(self) -> int:
        return int(self._process.memory_info().rss)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def _settle() -> None:
    """Return freed memory to the OS before taking the baseline, so that a later release of the warm-up's
    garbage (Arrow's allocator gives memory back with a delay) does not pass for a shrinking pipeline."""
    import ctypes
    import ctypes.util

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc and sys.platform.startswith("linux"):
        ctypes.CDLL(libc).malloc_trim(0)


def _scenario(name: str, events: int, *, drain: bool = True) -> dict[str, Any]:
    """Runs in the child process: one scenario, answered as a JSON line."""
    from bench._common import PROPERTIES
    from exporters.duckdb_exporter import DuckDBSpanExporter
    from exporters.eventlog import schema
    from telemetry import TelemetryService, TelemetrySettings

    gate = threading.Event()
    gate.set()
    original_export = DuckDBSpanExporter.export

    def export(self: DuckDBSpanExporter, spans: Any) -> Any:
        gate.wait()  # a hung disk, when the gate is closed
        return original_export(self, spans)

    DuckDBSpanExporter.export = export  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        service = TelemetryService(
            TelemetrySettings(home=Path(tmp), install_global=False, sample_resources=False, do_not_track=False)
        )
        service.enable().result(30)
        after_start = RssSampler().now()
        track = service.track_event_sync
        for _ in range(4_096):  # warm-up: the first batch creates tables, caches, arrow buffers
            track("training_started", PROPERTIES)
        service.flush(120)
        warm = service.stats()
        _settle()
        high_water = service.settings.queue_size // 2
        sampler = RssSampler()
        baseline = sampler.now()
        curve: list[tuple[int, float]] = []
        early_peak = baseline
        step = max(events // 10, 1)
        if name == "blocked":
            gate.clear()
        start = time.perf_counter()
        with sampler:
            for i in range(1, events + 1):
                track("training_started", PROPERTIES)
                if name == "healthy" and i % 1024 == 0:
                    while service.stats().queued > high_water:
                        time.sleep(0.002)
                if i % step == 0:
                    curve.append((i, round((sampler.now() - baseline) / MIB, 1)))
                    if i == step:
                        early_peak = sampler.peak
            submit_s = time.perf_counter() - start
            if name == "blocked":
                time.sleep(0.2)  # the sampler sees the full queue; the peak is taken before the gate opens
            else:
                service.flush(600)
        elapsed_s = time.perf_counter() - start
        backlog = service.stats()
        draining = RssSampler()
        if drain or name == "healthy":
            # Blocked: the disk comes back and the backlog is written (not the figure asked for).
            with draining:
                gate.set()
                service.flush(600)
        stats = service.stats()
        after_events = RssSampler().now()
        with service.event_log.reader() as con:
            row = con.execute(f"SELECT count(*) FROM {schema.SPANS}").fetchone()
        stored = int(row[0]) if row else 0
        # Without a drain (quick), the backlog stays in memory and the process exits with the gate closed.
        service.shutdown(30 if drain else 0.2)
    submitted = events + warm.queued + warm.processed
    return {
        "scenario": name,
        "events": events,
        "baseline_mib": baseline / MIB,
        "peak_mib": sampler.peak / MIB,
        "growth_mib": (sampler.peak - baseline) / MIB,
        "late_growth_mib": (sampler.peak - early_peak) / MIB,
        "curve": curve,
        "submit_s": submit_s,
        "drain_peak_mib": draining.peak / MIB,
        "drained": drain or name == "healthy",
        "backlog": backlog.queued,
        "elapsed_s": elapsed_s,
        "dropped": stats.dropped_queue_full,
        "dropped_other": stats.dropped_export_failed + stats.dropped_anonymizer_failed,
        "stored": stored,
        "submitted": submitted,
        "queue_size": service.settings.queue_size,
        "after_start_mib": after_start / MIB,
        "after_events_mib": after_events / MIB,
    }


def _bare_scenario(events: int) -> dict[str, Any]:
    """Runs in the child process: the bare OTel SDK pipeline (BatchSpanProcessor with its defaults and a
    no-op exporter) with the same events, as the baseline for RSS after start and after the events."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from bench.bench_pipeline import PROPERTIES, NoOpExporter

    exporter = NoOpExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    processor = BatchSpanProcessor(exporter)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    tracer.start_span("app_started").end()
    after_start = RssSampler().now()
    for i in range(1, events + 1):
        tracer.start_span("training_started", attributes=PROPERTIES).end()
        if i % 512 == 0:
            time.sleep(0)  # let the worker keep up, as the healthy scenario's caller does
    processor.force_flush()
    after_events = RssSampler().now()
    provider.shutdown()
    return {"after_start_mib": after_start / MIB, "after_events_mib": after_events / MIB, "seen": exporter.seen}


def run_scenario(name: str, events: int, *, drain: bool) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--scenario", name, "--events", str(events)] + ([] if drain else ["--no-drain"]),
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="80,000 events blocked, 10,000 healthy")
    parser.add_argument("--events", type=int, default=None, help="events per scenario (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=None, help="blocked runs (default 3, quick 1); healthy: 1")
    parser.add_argument("--scenario", choices=["healthy", "blocked", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--no-drain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    report = Report("Memory: RSS while events pass through track_event into DuckDB (issue 7)")
    if args.scenario == "bare":
        print(json.dumps(_bare_scenario(args.events)))
        return report
    if args.scenario:
        print(json.dumps(_scenario(args.scenario, args.events, drain=not args.no_drain)))
        return report
    blocked_n = args.events or (80_000 if args.quick else 1_000_000)
    healthy_n = args.events or (10_000 if args.quick else 1_000_000)
    repeats = args.repeats or (1 if args.quick else 3)
    # The healthy run is the long one (minutes at full size): it runs once, between blocked runs.
    results: dict[str, list[dict[str, Any]]] = {"blocked": [], "healthy": []}
    for i in range(repeats):
        # The first full run also drains the backlog, to check that stored + dropped == submitted.
        results["blocked"].append(run_scenario("blocked", blocked_n, drain=i == 0 and not args.quick))
        if i == 0:
            results["healthy"].append(run_scenario("healthy", healthy_n, drain=True))
            results["bare"] = [run_scenario("bare", healthy_n, drain=True)]
    bare, healthy = results["bare"][0], results["healthy"][0]
    for when, key in (("after start", "after_start_mib"), (f"after {healthy_n:,} events", "after_events_mib")):
        report.add(Figure(f"bare SDK pipeline: RSS {when}", "MiB", [bare[key]]))
        report.add(Figure(f"ours, consent on: RSS {when}", "MiB", [healthy[key]]))
        report.ratio(f"ours, consent on: RSS {when}", f"bare SDK pipeline: RSS {when}", "reported")
    for name, n in (("blocked", blocked_n), ("healthy", healthy_n)):
        runs = results[name]
        for r in runs:
            print(
                f"{name}: {r['events']:,} events in {r['elapsed_s']:.1f} s; RSS {r['baseline_mib']:.0f} -> "
                f"peak {r['peak_mib']:.0f} MiB; stats(): dropped_queue_full={r['dropped']:,}, other drops="
                f"{r['dropped_other']}"
            )
            if r["drained"]:
                lost = r["submitted"] - r["stored"] - r["dropped"] - r["dropped_other"]
                print(f"  stored {r['stored']:,} of {r['submitted']:,} submitted; unaccounted {lost}")
            else:
                print(f"  not drained: {r['backlog']:,} still queued behind the blocked exporter")
            if name == "blocked" and r["drained"]:
                print(f"  after the exporter came back: backlog written, RSS peak {r['drain_peak_mib']:.0f} MiB")
            print(f"  growth (MiB) by events submitted: {r['curve']}")
        label = "exporter blocked" if name == "blocked" else "healthy exporter"
        report.add(
            Figure(
                f"RSS growth, {label}, {n:,} events",
                "MiB",
                [r["growth_mib"] for r in runs],
                goal="goal < 50 MB",
                notes=f"peak {max(r['peak_mib'] for r in runs):.0f} MiB over a "
                f"{min(r['baseline_mib'] for r in runs):.0f} MiB warm baseline",
            )
        )
        report.add(
            Figure(
                f"dropped and counted, {label}",
                "events",
                [float(r["dropped"]) for r in runs],
                notes=f"queue {runs[0]['queue_size']:,}; "
                + (
                    f"stored {runs[0]['stored']:,} of {runs[0]['submitted']:,}" if runs[0]["drained"] else "not drained"
                ),
            )
        )
        if name == "healthy":
            late = [r["late_growth_mib"] for r in runs]
            report.add(
                Figure(
                    "healthy: RSS growth after the first 10% of events",
                    "MiB",
                    late,
                    notes="steady state: a leak would show here",
                )
            )
            rates = [r["events"] / r["elapsed_s"] for r in runs]
            report.add(Figure("healthy: sustained events/s into DuckDB", "ev/s", rates))
    for figure in report.figures:  # an absolute goal: shown as the goal column, no baseline
        if figure.goal:
            figure.notes = f"{figure.goal}; {figure.notes}"
    report.print()
    print(f"results: {report.save('memory')}")
    return report


if __name__ == "__main__":
    main()
