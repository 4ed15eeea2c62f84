"""Caller's cost of track_event and end-to-end throughput into DuckDB, against the bare OTel SDK.

1. Caller's thread, per call, 10 properties (one email, one home-folder path): ours with consent on,
   ours with consent off, and a bare SDK span with the same attributes and a BatchSpanProcessor with a
   no-op exporter. Measured in bursts that fit the queues, so neither side's worker competes for the GIL
   while the caller is timed; the export work is measured in (2). The garbage collector runs, untimed,
   before each burst: the three share a process, and one's garbage must not time another's collection.
2. End to end: N events from the first call until the last row is committed and queryable, against the
   same bare SDK pipeline (N spans until its no-op exporter has seen them all). Also the CPU time of the
   whole process per event (all threads, DuckDB's included): on a shared, noisy machine it moves far
   less than wall time, so it shows whether a change cut work or only moved it between threads.
3. A trickle: an app sending 5 events a second, CPU of the whole process per second of wall time, against
   the bare SDK pipeline at the same rate and the same kill -9 loss window (how long an event may wait in
   memory: the SDK's schedule delay, our ``flush_interval_s``), at the SDK's default window (5 s) and at
   ours (0.5 s). This is what telemetry costs a desktop app most of the time: per-batch work (a DuckDB
   commit at every flush, about 3 ms of CPU however small the batch), not per-event work.

Targets (issue 2): consent off <= 1 us; consent on <= 1.3x the bare span; end to end >= 0.8x bare.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PROPERTIES, Figure, Report, alternate
from telemetry import TelemetryService, TelemetrySettings

DEFAULT_BATCH: int = TelemetrySettings.model_fields["batch_size"].default
DEFAULT_FLUSH_S: float = TelemetrySettings.model_fields["flush_interval_s"].default


class NoOpExporter(SpanExporter):
    def __init__(self) -> None:
        self.seen = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.seen += len(spans)
        return SpanExportResult.SUCCESS


def bare_sdk(queue: int) -> tuple[TracerProvider, BatchSpanProcessor, NoOpExporter]:
    exporter = NoOpExporter()
    processor = BatchSpanProcessor(
        exporter, max_queue_size=queue, max_export_batch_size=min(queue, 4096), schedule_delay_millis=60_000
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(processor)
    return provider, processor, exporter


def ours(home: Path, queue: int, *, burst: bool) -> TelemetryService:
    service = TelemetryService(
        TelemetrySettings(
            home=home,
            install_global=False,
            sample_resources=False,
            queue_size=queue,
            # In a burst the worker sleeps until asked, like the bare SDK's with its 60 s delay.
            batch_size=queue if burst else DEFAULT_BATCH,
            flush_interval_s=60 if burst else 0.05,
            max_events=10_000_000,
        )
    )
    service.enable().result(30)
    return service


def caller_cost(report: Report, calls: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service_on = ours(Path(tmp) / "on", calls + 1, burst=True)
        service_off = ours(Path(tmp) / "off", calls + 1, burst=True)
        service_off.disable().result(30)
        provider, processor, _ = bare_sdk(calls + 1)
        tracer = provider.get_tracer("bench")
        attrs = dict(PROPERTIES)

        def run_ours_on() -> float:
            track = service_on.track_event_sync
            gc.collect()
            start = time.perf_counter_ns()
            for _ in range(calls):
                track("training_started", PROPERTIES)
            elapsed = (time.perf_counter_ns() - start) / calls / 1000
            service_on.flush(120)
            return elapsed

        def run_ours_off() -> float:
            track = service_off.track_event_sync
            gc.collect()
            start = time.perf_counter_ns()
            for _ in range(calls):
                track("training_started", PROPERTIES)
            return (time.perf_counter_ns() - start) / calls / 1000

        def run_bare() -> float:
            gc.collect()
            start = time.perf_counter_ns()
            for _ in range(calls):
                tracer.start_span("training_started", attributes=attrs).end()
            elapsed = (time.perf_counter_ns() - start) / calls / 1000
            processor.force_flush()
            return elapsed

        samples = alternate({"bare": run_bare, "on": run_ours_on, "off": run_ours_off}, repeats)
        report.add(Figure("bare OTel SDK span (BSP, no-op exporter)", "us", samples["bare"]))
        report.add(Figure("track_event, consent on", "us", samples["on"]))
        report.add(Figure("track_event, consent off", "us", samples["off"], notes="goal <= 1 us"))
        report.ratio("track_event, consent on", "bare OTel SDK span (BSP, no-op exporter)", "goal <= 1.3x")
        service_on.shutdown(30)
        service_off.shutdown(30)
        provider.shutdown()


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def end_to_end(report: Report, events: int, repeats: int) -> None:
    from exporters.eventlog import schema  # here: bench_memory's bare baseline imports this module

    cpu: dict[str, list[float]] = {"bare": [], "ours": []}

    def run_bare() -> float:
        provider, processor, exporter = bare_sdk(events + 1)
        tracer = provider.get_tracer("bench")
        cpu_start, start = _cpu_s(), time.perf_counter()
        for _ in range(events):
            tracer.start_span("training_started", attributes=PROPERTIES).end()
        processor.force_flush()
        elapsed = time.perf_counter() - start
        cpu["bare"].append((_cpu_s() - cpu_start) / events * 1e6)
        assert exporter.seen == events
        provider.shutdown()
        return events / elapsed

    def run_ours() -> float:
        with tempfile.TemporaryDirectory() as tmp:
            service = ours(Path(tmp), events + 1, burst=False)
            cpu_start, start = _cpu_s(), time.perf_counter()
            for _ in range(events):
                service.track_event_sync("training_started", PROPERTIES)
            service.flush(600)
            with service.event_log.reader() as con:
                row = con.execute(f"SELECT count(*) FROM {schema.SPANS}").fetchone()
            elapsed = time.perf_counter() - start
            cpu["ours"].append((_cpu_s() - cpu_start) / events * 1e6)
            assert row is not None and row[0] == events, (row, events, service.stats())
            service.shutdown(30)
            return events / elapsed

    samples = alternate({"bare": run_bare, "ours": run_ours}, repeats)
    report.add(Figure("bare SDK pipeline, no-op exporter", "ev/s", samples["bare"]))
    report.add(Figure("ours: track_event -> committed DuckDB rows", "ev/s", samples["ours"]))
    report.ratio("ours: track_event -> committed DuckDB rows", "bare SDK pipeline, no-op exporter", "goal >= 0.8x")
    bare_cpu, ours_cpu = "bare SDK pipeline, CPU per event (all threads)", "ours, CPU per event (all threads)"
    report.add(Figure(bare_cpu, "us", cpu["bare"]))
    report.add(Figure(ours_cpu, "us", cpu["ours"]))
    report.ratio(ours_cpu, bare_cpu, "lower is better")


def trickle(report: Report, rate: float, seconds: float, repeats: int) -> None:
    """Both pipelines at two kill -9 loss windows: the OTel SDK's default (5 s schedule delay) and ours
    (``flush_interval_s`` 0.5 s). Each pair shares its window, so each ratio compares like with like."""

    def at_rate(record: Callable[[], None]) -> float:
        """Call ``record()`` ``rate`` times a second for ``seconds``; CPU ms per second of the process."""
        calls = int(rate * seconds)
        # process_time: all threads, nanosecond clock (os.times ticks at 10 ms, too coarse at this load)
        cpu_start, start = time.process_time(), time.perf_counter()
        for i in range(calls):
            record()
            time.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
        return (time.process_time() - cpu_start) / (time.perf_counter() - start) * 1e3

    def bare(window_s: float) -> Callable[[], float]:
        def run() -> float:
            exporter = NoOpExporter()
            provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
            provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=window_s * 1000))
            tracer = provider.get_tracer("bench")
            try:
                return at_rate(lambda: tracer.start_span("training_step", attributes=PROPERTIES).end())
            finally:
                provider.shutdown()

        return run

    def ours(window_s: float) -> Callable[[], float]:
        def run() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                settings = TelemetrySettings(
                    home=Path(tmp), install_global=False, sample_resources=False, flush_interval_s=window_s
                )
                service = TelemetryService(settings)  # default batch size
                service.enable().result(30)
                try:
                    return at_rate(lambda: service.track_event_sync("training_step", PROPERTIES))
                finally:
                    service.shutdown(30)

        return run

    sdk_window, our_window = 5.0, DEFAULT_FLUSH_S
    samples = alternate(
        {"bare sdk": bare(sdk_window), "ours sdk": ours(sdk_window), "bare ours": bare(our_window),
         "ours ours": ours(our_window)},
        repeats,
    )  # fmt: skip
    for window, key in ((sdk_window, "sdk"), (our_window, "ours")):
        name_bare = f"bare SDK pipeline, {rate:g} events/s, {window:g} s window: CPU"
        name_ours = f"ours, {rate:g} events/s into DuckDB, {window:g} s window: CPU"
        report.add(Figure(name_bare, "ms/s", samples[f"bare {key}"]))
        report.add(Figure(name_ours, "ms/s", samples[f"ours {key}"]))
        report.ratio(name_ours, name_bare, "goal <= 2x" if key == "sdk" else "same loss window")


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI to keep the bench alive")
    args = parser.parse_args(argv)
    calls, repeats, events = (2_000, 3, 5_000) if args.quick else (20_000, 7, 50_000)
    report = Report("Pipeline: caller's cost and end-to-end throughput (issue 2)")
    caller_cost(report, calls, repeats)
    end_to_end(report, events, max(3, repeats // 2))
    trickle(report, rate=5, seconds=1.5 if args.quick else 15, repeats=1 if args.quick else 2)
    report.print()
    report.save("pipeline")
    return report


if __name__ == "__main__":
    main()
