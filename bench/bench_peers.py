"""Caller's cost per tracked event: ours against the bare OTel SDK and the peers a user would pick instead.

Every contender records the same event, ``training_started`` with 10 properties (one an e-mail address,
one a path in the home folder), and is timed on the caller's thread:

* ours, consent on and consent off (``track_event_sync``);
* the bare OpenTelemetry SDK span with the same attributes, ``BatchSpanProcessor`` + no-op exporter;
* logfire ``logfire.info`` (``send_to_logfire=False``, no console, scrubbing on, and the same
  ``BatchSpanProcessor`` + no-op exporter as the bare SDK, so a span really is handed on);
* PostHog ``capture`` on a client that is not disabled but built with ``send=False`` (PostHog's own
  switch: the message is built, validated and "queued as if sent", and no consumer thread ever starts);
* Sentry ``capture_message`` (``extras`` = the properties) through a transport that counts envelopes
  and drops them, so the event is fully prepared, scrubbed and enveloped, and nothing leaves.

Each contender lives in a subprocess of its own (logfire and Sentry install global OTel providers and
hooks that would distort the others), started once and then driven over a pipe: the parent asks each in
turn for one burst, so all contenders alternate across repeats and drift hits them alike. A burst fits
the queues (as in ``bench_pipeline``), and the background work it caused is flushed, untimed, before the
next contender runs; then the garbage collector runs, untimed, so that no burst pays for a full collection
that another contender's garbage made due (with bare, on and off in one process, the bare SDK's bursts
moved a ~30 ms full collection into our bursts: +3 us per call that was not ours). A peer that is not
installed (``pip install -e '.[bench]'``) is skipped with a note.

Goals (issue 7): consent on cheaper than every peer and <= 1.3x the bare SDK span (aim: <= 0.2x);
consent off <= 1 us.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PROPERTIES, Figure, Report

BARE = "bare OTel SDK span (BSP, no-op exporter)"
ON = "ours: track_event, consent on"
OFF = "ours: track_event, consent off"
LOGFIRE = "logfire.info (scrubbing on, nothing sent)"
POSTHOG = "posthog capture (send=False)"
SENTRY = "sentry capture_message (dropping transport)"
PEERS = (LOGFIRE, POSTHOG, SENTRY)

#: contender -> (process it runs in, key in that process, calls per burst full, quick); a burst lasts
#: ~0.1-1 s. Ours and the bare SDK share a process (neither touches the OTel globals, as in
#: bench_pipeline); each peer has a process of its own.
CONTENDERS: dict[str, tuple[str, str, int, int]] = {
    BARE: ("ours", "bare", 10_000, 600),
    ON: ("ours", "on", 10_000, 2_000),
    OFF: ("ours", "off", 10_000, 2_000),
    LOGFIRE: ("logfire", "logfire", 3_000, 200),
    POSTHOG: ("posthog", "posthog", 5_000, 300),
    SENTRY: ("sentry", "sentry", 3_000, 120),
}

Setup = tuple[Callable[[], None], Callable[[], object], Callable[[], str]]
"""(record one event, flush what the burst queued, describe what was kept) of one contender."""


# -- the worker side: one contender per process ------------------------------------------------------


def _setup_bare(calls: int, tmp: Path) -> Setup:
    from bench import bench_pipeline

    bare_sdk = bench_pipeline.bare_sdk

    provider, processor, exporter = bare_sdk(calls + 1)
    tracer = provider.get_tracer("bench")
    attrs = dict(PROPERTIES)

    def record() -> None:
        tracer.start_span("training_started", attributes=attrs).end()

    return record, processor.force_flush, lambda: f"{exporter.seen} spans exported"


def _setup_ours(calls: int, tmp: Path, *, enabled: bool) -> Setup:
    from bench import bench_pipeline

    ours = bench_pipeline.ours
    service = ours(tmp / "home", calls + 1, burst=True)
    if not enabled:
        service.disable().result(30)
    track = service.track_event_sync

    def record() -> None:
        track("training_started", PROPERTIES)

    def describe() -> str:
        stats = service.stats()
        return f"{stats.exported} stored, {stats.dropped_queue_full} dropped"

    return record, lambda: service.flush(120), describe


def _setup_logfire(calls: int, tmp: Path) -> Setup:
    import logfire
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class NoOpExporter(SpanExporter):  # as bench_pipeline's, without importing our stack
        seen = 0

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            NoOpExporter.seen += len(spans)
            return SpanExportResult.SUCCESS

    exporter = NoOpExporter()
    processor = BatchSpanProcessor(
        exporter,
        max_queue_size=calls + 1,
        max_export_batch_size=min(calls + 1, 4096),
        schedule_delay_millis=60_000,
    )
    logfire.configure(
        send_to_logfire=False,
        console=False,
        scrubbing=logfire.ScrubbingOptions(),
        additional_span_processors=[processor],
        service_name="bench",
    )
    info = logfire.info

    def record() -> None:
        info("training_started", **PROPERTIES)

    def describe() -> str:
        return f"{exporter.seen} spans exported, logfire {logfire.VERSION}"

    return record, logfire.force_flush, describe


def _setup_posthog(calls: int, tmp: Path) -> Setup:
    import posthog
    from posthog import Posthog

    client = Posthog(
        "phc_bench_project_key",
        host="http://127.0.0.1:9",  # the discard port: nothing listens, and send=False never connects
        send=False,
        sync_mode=False,
        max_queue_size=calls + 1,
        disable_geoip=True,
    )
    captured = [0]
    capture = client.capture

    def record() -> None:
        if capture("training_started", distinct_id="anon-5f2c9a1e", properties=PROPERTIES):
            captured[0] += 1

    def describe() -> str:
        return f"{captured[0]} events built and kept (send=False), posthog {posthog.VERSION}"

    return record, lambda: None, describe


def _setup_sentry(calls: int, tmp: Path) -> Setup:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class DroppingTransport(Transport):
        """Counts what would be sent and drops it."""

        envelopes = 0

        def capture_envelope(self, envelope: Any) -> None:
            DroppingTransport.envelopes += 1

    sentry_sdk.init(
        dsn="https://public@127.0.0.1:9/1",
        transport=DroppingTransport,
        send_default_pii=False,
        traces_sample_rate=None,
    )
    capture = sentry_sdk.capture_message

    def record() -> None:
        capture("training_started", level="info", extras=PROPERTIES)

    def describe() -> str:
        return f"{DroppingTransport.envelopes} envelopes built and dropped, sentry-sdk {sentry_sdk.VERSION}"

    return record, sentry_sdk.flush, describe


def _setups(process: str, calls: dict[str, int], tmp: Path) -> dict[str, Setup]:
    if process == "ours":
        return {
            "bare": _setup_bare(calls["bare"], tmp),
            "on": _setup_ours(calls["on"], tmp / "on", enabled=True),
            "off": _setup_ours(calls["off"], tmp / "off", enabled=False),
        }
    builders = {"logfire": _setup_logfire, "posthog": _setup_posthog, "sentry": _setup_sentry}
    return {process: builders[process](calls[process], tmp)}


def _worker(process: str, calls: dict[str, int]) -> None:
    """Set the contenders up, then answer ``run <key>`` with one burst's cost per call (us) until EOF."""
    with tempfile.TemporaryDirectory(prefix=f"bench-peers-{process}-") as tmp:
        try:
            setups = _setups(process, calls, Path(tmp))
        except ImportError as exc:
            _reply({"skip": f"not installed ({exc.name}); pip install -e '.[bench]'"})
            return
        for key, (record, flush, _) in setups.items():
            for _ in range(min(200, calls[key])):  # warm up: lazy imports and first calls are not the cost
                record()
            flush()
        _reply({"ready": True})
        for line in sys.stdin:
            command, _, key = line.strip().partition(" ")
            if command != "run":
                break
            record, flush, _ = setups[key]
            n = calls[key]
            start = time.perf_counter_ns()
            for _ in range(n):
                record()
            elapsed_us = (time.perf_counter_ns() - start) / n / 1000
            flush()  # untimed: the background work this burst caused must not bill the next contender
            gc.collect()  # untimed, and for the same reason: its garbage must not time the next one's GC
            _reply({"us": elapsed_us})
        _reply({"done": {key: describe() for key, (_, _, describe) in setups.items()}})


def _reply(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# -- the parent side -----------------------------------------------------------------------------------


class Worker:
    """One worker process, driven line by line. A peer that cannot start is a note, never a crash."""

    def __init__(self, name: str, calls: dict[str, int]) -> None:
        self.name = name
        self.skip: str | None = None
        self.notes: dict[str, str] = {}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", name, "--calls", json.dumps(calls)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _send(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        if line:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"worker {self.name} exited with {self.process.wait()}")
        message: dict[str, Any] = json.loads(answer)
        return message

    def wait_ready(self) -> None:
        try:
            message = self._send("")
        except Exception as exc:
            message = {"skip": f"failed to start ({exc})"}
        if "skip" in message:
            self.skip = str(message["skip"])
            print(f"note: skipping {self.name}: {self.skip}")
            self.close()

    def run(self, key: str) -> float:
        return float(self._send(f"run {key}")["us"])

    def finish(self) -> None:
        self.notes = dict(self._send("quit").get("done", {}))
        self.close()

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def measure(report: Report, *, quick: bool, repeats: int) -> None:
    calls: dict[str, dict[str, int]] = {}
    for process, key, full_calls, quick_calls in CONTENDERS.values():
        calls.setdefault(process, {})[key] = quick_calls if quick else full_calls
    workers = {name: Worker(name, per_key) for name, per_key in calls.items()}  # start in parallel
    samples: dict[str, list[float]] = {label: [] for label in CONTENDERS}
    try:
        for worker in workers.values():
            worker.wait_ready()
        live = {label: spec for label, spec in CONTENDERS.items() if workers[spec[0]].skip is None}
        for _ in range(repeats):
            for label, (process, key, _, _) in live.items():
                samples[label].append(workers[process].run(key))
        for worker in workers.values():
            if worker.skip is None:
                worker.finish()
    finally:
        for worker in workers.values():
            if worker.process.poll() is None:
                worker.process.kill()
                worker.close()

    for label, (process, key, _, _) in live.items():
        note = f"{calls[process][key]:,} calls/burst; {workers[process].notes.get(key, '')}"
        report.add(Figure(label, "us", samples[label], notes=note))
    if BARE not in live:
        return
    if ON in live:
        report.ratio(ON, BARE, "goal <= 1.3x (aim <= 0.2x)")
    if OFF in live:
        report.ratio(OFF, BARE, "goal <= 1 us")
    peers = [p for p in PEERS if p in live]
    for peer in peers:
        report.ratio(peer, BARE, "peer")
    if ON in live and peers:
        # Per round: ours against the cheapest peer of that same round, so drift cancels.
        cheapest = min(peers, key=lambda p: statistics.median(samples[p]))
        rounds = [mine / min(samples[p][i] for p in peers) for i, mine in enumerate(samples[ON])]
        figure = report.add(
            Figure(
                "ours consent on / cheapest peer (per round)",
                "x",
                rounds,
                baseline=f"cheapest peer (by median: {cheapest.split('.')[0].split(' ')[0]})",
                goal="goal < 1x",
            )
        )
        figure.ratio = figure.median


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short bursts, 3 rounds (CI smoke test)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 5, quick 3)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--calls", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    report = Report("Peers: caller's cost per tracked event, 10 properties (issue 7)")
    if args.worker:
        _worker(args.worker, json.loads(args.calls))
        return report
    repeats = args.repeats or (3 if args.quick else 5)
    measure(report, quick=args.quick, repeats=repeats)
    report.print()
    print(f"results: {report.save('peers')}")
    return report


if __name__ == "__main__":
    main()
