"""Requests per second through the telemetry service, side by side with a bare FastAPI endpoint.

Three uvicorn servers with the same settings (one process each, 127.0.0.1, access log off) run at once:

* ``ours``: ``create_app()`` as ``peft-telemetry serve`` builds it (consent on, token, guards, HTTP
  instrumentation), on a temporary data home;
* ``off``: the same with consent off (what the HTTP layer costs when nothing is recorded);
* ``bare``: a FastAPI app whose ``POST /bare`` and ``POST /v1/traces`` read nothing and answer 200.

A small asyncio HTTP/1.1 client with keep-alive connections drives each for a fixed time, alternating
between them so drift hits all alike. Measured:

1. ``POST /api/telemetry/events`` (the suite's event, ``bench._common.PROPERTIES``) vs ``POST /bare``, same bytes.
   Each tracked event is one row in the log (intake endpoints are not timed);
2. OTLP spans per second: ``POST /v1/traces`` with a protobuf batch of 100 spans x 10 attributes, vs the
   bare endpoint receiving the same bytes.

Our server's export worker keeps writing after a run ends; before the next run we wait until it has
drained (so it never steals the bare server's CPU) and report the rate with that drain time included too.
Target (issue 4): >= 0.7x the bare endpoint's rate. ``--quick`` runs short for a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PROPERTIES, Figure, Report, alternate, served_settings

ROOT = Path(__file__).resolve().parents[1]
SPANS_PER_BATCH = 100
CONNECTIONS = 8

EVENT = orjson.dumps({"event_type": "training_started", "properties": PROPERTIES})


# -- the servers (run in their own processes) -------------------------------------------------------------


def _bare_app() -> object:
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.post("/bare")
    async def bare() -> Response:
        return Response(status_code=200)

    @app.post("/v1/traces")
    async def bare_traces() -> Response:
        return Response(status_code=200)

    return app


def _serve(kind: str, home: str) -> None:
    import uvicorn

    from telemetry.server import create_app
    from telemetry.server.serve import bind

    token = "-"
    if kind in ("ours", "off"):
        app: object = create_app(served_settings(Path(home)))
        service = app.state.telemetry_service  # type: ignore[attr-defined]
        (service.enable() if kind == "ours" else service.disable()).result(10)
        token = app.state.telemetry_token  # type: ignore[attr-defined]
    else:
        app = _bare_app()
    sock = bind("127.0.0.1", 0)
    print(sock.getsockname()[1], token, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[sock])


class Server:
    def __init__(self, kind: str, home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "PEFT_TELEMETRY_DISABLED")}
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind, "--home", str(home)],
            stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.process.stdout is not None
        port, self.token = self.process.stdout.readline().split()
        self.port = int(port)
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, path: str, body: bytes, content_type: str) -> bytes:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nAuthorization: Bearer {self.token}\r\n\r\n"
        )
        return head.encode() + body

    def status(self) -> dict[str, object]:
        # Status shows recorded data: it needs the token like every data endpoint.
        response = httpx.get(f"{self.base}/api/telemetry/status", headers={"x-peft-token": self.token}, timeout=60)
        response.raise_for_status()
        return dict(response.json())

    def wait_drained(self) -> float:
        """Seconds until the export worker has written everything queued."""
        start = time.perf_counter()
        while True:
            pipeline = self.status()["pipeline"]
            assert isinstance(pipeline, dict)
            settled = pipeline["exported"] + pipeline["dropped_export_failed"] + pipeline["dropped_anonymizer_failed"]
            # The status request's own HTTP span may still be on its way: allow it.
            if pipeline["queued"] <= 1 and settled >= pipeline["processed"] - 1:
                return time.perf_counter() - start
            time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# -- the load ---------------------------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _load(port: int, request: bytes, duration: float) -> tuple[int, int, float]:
    loop = asyncio.get_running_loop()
    done = errors = 0

    async def worker(deadline: float) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while loop.time() < deadline:
                writer.write(request)
                if await _read_response(reader) != 200:
                    errors += 1
                done += 1
        finally:
            writer.close()
            await writer.wait_closed()

    start = loop.time()
    await asyncio.gather(*(worker(start + duration) for _ in range(CONNECTIONS)))
    return done, errors, loop.time() - start


def _runner(
    server: Server,
    request: bytes,
    duration: float,
    drain: bool,
    totals: dict[str, list[float]],
    key: str,
    per: int,
) -> Callable[[], float]:
    def run() -> float:
        done, errors, elapsed = asyncio.run(_load(server.port, request, duration))
        if errors:
            raise SystemExit(f"{key}: {errors} of {done} requests failed")
        drained = server.wait_drained() if drain else 0.0
        totals.setdefault(key, []).append(done * per / (elapsed + drained))
        return done * per / elapsed

    return run


def _traces_payload() -> bytes:
    """One OTLP protobuf batch: SPANS_PER_BATCH spans with 10 attributes each, as an OTel SDK would send."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    spans = []

    class Keep(SpanExporter):
        def export(self, batch):  # type: ignore[no-untyped-def]
            spans.extend(batch)
            return SpanExportResult.SUCCESS

    provider = TracerProvider(resource=Resource.create({"service.name": "bench-client"}))
    provider.add_span_processor(SimpleSpanProcessor(Keep()))
    tracer = provider.get_tracer("bench")
    attributes = orjson.loads(EVENT)["properties"]
    for i in range(SPANS_PER_BATCH):
        tracer.start_span(f"op_{i % 10}", attributes=attributes).end()
    provider.shutdown()
    return bytes(encode_spans(spans).SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--serve", choices=["ours", "off", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.home)
        return
    duration, repeats = (0.5, 2) if args.quick else (4.0, 5)
    traces = _traces_payload()
    report = Report("Telemetry service: requests/s and OTLP spans/s vs a bare FastAPI endpoint (issue 4)")
    json_type, pb_type, n = "application/json", "application/x-protobuf", SPANS_PER_BATCH
    bare_events, bare_spans = "bare POST /bare (does nothing)", f"bare POST /v1/traces ({n}-span batches)"
    with tempfile.TemporaryDirectory() as tmp:
        servers = {kind: Server(kind, Path(tmp) / kind) for kind in ("ours", "off", "bare")}
        ours, off, bare = servers["ours"], servers["off"], servers["bare"]
        try:
            totals: dict[str, list[float]] = {}
            event = "/api/telemetry/events"
            samples = alternate(
                {
                    "bare": _runner(bare, bare.request("/bare", EVENT, json_type), duration, False, totals, "b", 1),
                    "ours": _runner(ours, ours.request(event, EVENT, json_type), duration, True, totals, "o", 1),
                    "off": _runner(off, off.request(event, EVENT, json_type), duration, False, totals, "f", 1),
                },
                repeats,
            )
            report.add(Figure(bare_events, "req/s", samples["bare"]))
            report.add(Figure("POST /api/telemetry/events (request rate)", "req/s", samples["ours"]))
            report.add(Figure("POST /api/telemetry/events (incl. drain to DuckDB)", "req/s", totals["o"]))
            # The same server with consent off: HTTP, guards, validation, routing, nothing recorded.
            report.add(Figure("POST /api/telemetry/events, consent off", "req/s", samples["off"]))
            report.ratio("POST /api/telemetry/events (request rate)", bare_events, ">= 0.7x")
            report.ratio("POST /api/telemetry/events (incl. drain to DuckDB)", bare_events)
            report.ratio("POST /api/telemetry/events, consent off", bare_events)
            samples = alternate(
                {
                    "bare": _runner(
                        bare, bare.request("/v1/traces", traces, pb_type), duration, False, totals, "tb", n
                    ),
                    "ours": _runner(ours, ours.request("/v1/traces", traces, pb_type), duration, True, totals, "to", n),
                },
                repeats,
            )
            report.add(Figure(bare_spans, "span/s", samples["bare"]))
            report.add(Figure("OTLP receiver spans (request rate)", "span/s", samples["ours"]))
            report.add(Figure("OTLP receiver spans (incl. drain to DuckDB)", "span/s", totals["to"]))
            report.ratio("OTLP receiver spans (request rate)", bare_spans, ">= 0.7x")
            report.ratio("OTLP receiver spans (incl. drain to DuckDB)", bare_spans)
            status = ours.status()
            pipeline, log = status["pipeline"], status["event_log"]
            assert isinstance(pipeline, dict) and isinstance(log, dict)
            print(
                f"\nour server stored {log['spans']:,} spans; dropped: queue full "
                f"{pipeline['dropped_queue_full']}, export failed {pipeline['dropped_export_failed']}, "
                f"anonymizer {pipeline['dropped_anonymizer_failed']}"
            )
        finally:
            for server in servers.values():
                server.stop()
    report.print()
    print(f"results: {report.save('server')}")


if __name__ == "__main__":
    main()
