"""Hub ingest per process: OTLP protobuf straight to Arrow vs the SDK-span road it replaced (issue 20).

1. In process (no HTTP): 512-span requests from 8 installs (each its own resource: version, OS, session),
   realistic spans (tracked events with changing steps and losses, errors with an exception event and a
   stack trace, metric spans, HTTP server spans; an e-mail address or a home path in some, so the
   anonymizer has work), already parsed, into a Parquet lake (fsync on, as the hub runs).
   * ``direct``: ``HubIngest.traces`` (protobuf -> checked plain values -> anonymizer -> Arrow -> lake);
   * ``sdk road``: what the hub did before, rebuilt from the library's public pieces (:func:`sdk_road`):
     ``convert_traces`` (SDK spans) -> ``Anonymizer.scrub_span`` -> ``spans_to_arrow`` -> lake columns ->
     the same ``LakeWriter``. Same requests, same run, alternated.
   Goal (issue 20): direct >= 50,000 spans/s per process. Reported as spans/s and the ratio.
2. Over HTTP (unless ``--no-http``): a real hub app under uvicorn on 127.0.0.1, fed by OpenTelemetry's
   official OTLP/HTTP protobuf exporter from 4 threads (one per install), spans/s until every span is in
   the lake. The exporter encodes, the server parses: both share the process's 2 cores with the ingest.

``--quick``: fewer requests and one repeat (the CI smoke test checks it runs, not its speed).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, Report, alternate

SPANS_PER_REQUEST = 512
INSTALLS = 8
SECRET = b"bench-hub-secret-0123456789abcdef"
_START_NS = 1_790_000_000 * 10**9


def install_id(index: int) -> str:
    return hashlib.sha256(f"bench-install-{index}".encode()).hexdigest()


def _resource(index: int) -> Any:
    from opentelemetry.sdk.resources import Resource

    return Resource({
        "service.name": "peft-studio", "service.version": f"1.{index % 3}.0", "os.type": ("linux", "darwin")[index % 2],
        "telemetry.sdk.language": "python", "telemetry.sdk.version": "1.39.0", "session.id": f"{index:032x}",
        "peft.share.install_id": install_id(index),
    })  # fmt: skip


def realistic_spans(install: int, count: int, offset: int = 0) -> list[Any]:
    """``count`` finished SDK spans as a sharing install sends them (see the module docstring)."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    resource, scope = _resource(install), InstrumentationScope("peft_studio.telemetry", "0.9.0")
    flags = TraceFlags(TraceFlags.SAMPLED)
    spans = []
    for index in range(offset, offset + count):
        trace_id = int.from_bytes(hashlib.md5(f"{install}:{index}".encode()).digest(), "big")
        context = SpanContext(trace_id, (index + 1) * 7919 + install, False, flags)
        start = _START_NS + index * 1_000_000_000
        events: tuple[Any, ...]
        kind, status, events, name = SpanKind.INTERNAL, Status(StatusCode.UNSET), (), "training_step"
        shape = index % 8
        if shape < 4:
            attrs: dict[str, Any] = {
                "peft.category": "event", "peft.event_type": "training_step", "algorithm": "lora",
                "model_name": "llama-2-7b", "lora_r": 16, "learning_rate": 2e-4, "step": index,
                "loss": 2.5 / (1 + index % 97), "fp16": True, "dataset_rows": 52_000,
            }  # fmt: skip
        elif shape == 4:
            name = "training_failed"
            attrs = {"peft.category": "error", "peft.event_type": "training_failed", "model_name": "mistral-7b"}
            message = f"CUDA out of memory. Tried to allocate {index % 20} GiB; see /home/alice/run-{index}.log"
            trace = 'Traceback (most recent call last):\n  File "/home/alice/train.py", line 42, in main\n'
            exception = {"exception.type": "torch.cuda.OutOfMemoryError", "exception.message": message,
                         "exception.stacktrace": trace}  # fmt: skip
            events = (Event("exception", exception, start),)
            status = Status(StatusCode.ERROR, message)
        elif shape == 5:
            name = "api_response_time"
            attrs = {"peft.category": "metric", "peft.metric_name": "api_response_time", "endpoint": "/v1/models",
                     "peft.metric_value": float(index % 300), "peft.metric_unit": "ms"}  # fmt: skip
        elif shape == 6:
            name, kind = "GET /v1/models/{model_id}", SpanKind.SERVER
            attrs = {"http.route": "/v1/models/{model_id}", "http.request.method": "GET",
                     "http.response.status_code": 200}  # fmt: skip
        else:
            name = "model_loaded"
            attrs = {"peft.category": "event", "peft.event_type": "model_loaded", "model_name": "qwen2-1.5b",
                     "note": f"shared by bob{index % 5}@example.com", "load_ms": index % 1000}  # fmt: skip
        spans.append(ReadableSpan(name, context, None, resource, attrs, events, (), kind, None, status,
                                  start, start + 250_000_000, scope))  # fmt: skip
    return spans


def request_bytes(install: int, count: int = SPANS_PER_REQUEST, offset: int = 0) -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return encode_spans(realistic_spans(install, count, offset)).SerializeToString()


def sdk_road(request: Any, anonymizer: Any, hub_id: str = "bench") -> Any:
    """The lake table the hub stored before the direct road: every span as an SDK ``ReadableSpan``
    (``convert_traces``), ``Anonymizer.scrub_span``, the event log's ``spans_to_arrow``, then the lake's
    columns. The equivalence test compares the direct road's rows with these."""
    import orjson
    import pyarrow as pa

    from exporters.eventlog.arrow import ResourceCache, spans_to_arrow
    from exporters.lake import LAKE_SPANS_ARROW
    from telemetry.hub._shared import take_install_id as _take_install_id
    from telemetry.server.otlp_convert import convert_traces

    spans, owners = [], []
    for resource_spans in request.resource_spans:
        owner = _take_install_id(resource_spans.resource.attributes)
        for span in convert_traces(SimpleNamespace(resource_spans=[resource_spans])).items:
            try:
                spans.append(anonymizer.scrub_span(span))
            except Exception:
                continue  # dropped, as the hub drops it
            owners.append(owner)
    rows, _events, resources = spans_to_arrow(spans, ResourceCache())
    text = {r: _plain(v) for r, v in zip(resources["resource_id"].to_pylist(), resources["attributes"], strict=True)}
    facts = {r: orjson.loads(t or "{}") for r, t in text.items()}
    rids = rows["resource_id"].to_pylist()
    columns: dict[str, Any] = {name: rows[name] for name in rows.column_names}
    columns.update(
        attributes=[_plain(v) for v in rows["attributes"]],
        redactions=[_plain(v) for v in rows["redactions"]],
        share_id=[hashlib.md5(f"{o}:{t}:{s}".encode(), usedforsecurity=False).hexdigest() for o, t, s in
                  zip(owners, rows["trace_id"].to_pylist(), rows["span_id"].to_pylist(), strict=True)],
        install_id=owners, resource=[text.get(r) for r in rids],
        app_version=[_text_or_none(facts.get(r, {}).get("service.version")) for r in rids],
        os_type=[_text_or_none(facts.get(r, {}).get("os.type")) for r in rids],
        received_ns=[time.time_ns()] * len(owners), hub_id=[hub_id] * len(owners),
    )  # fmt: skip
    return pa.table({name: columns[name] for name in LAKE_SPANS_ARROW.names}).cast(LAKE_SPANS_ARROW)


def _plain(value: Any) -> str | None:
    raw = value.as_py()
    return raw if raw is None or isinstance(raw, str) else str(raw)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def bench_in_process(report: Report, requests: int, repeats: int, work: Path) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from exporters.lake import LakeWriter
    from processors.anonymizer import Anonymizer, PrivacyPolicy
    from telemetry.hub.ingest import HubIngest

    bodies = [
        request_bytes(i % INSTALLS, SPANS_PER_REQUEST, (i // INSTALLS) * SPANS_PER_REQUEST) for i in range(requests)
    ]
    spans = requests * SPANS_PER_REQUEST
    direct_ingest = HubIngest(LakeWriter(work / "direct"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    road_anonymizer = Anonymizer(PrivacyPolicy(), secret=lambda: SECRET)
    road_writer = LakeWriter(work / "road")

    cpu: dict[str, list[float]] = {"direct": [], "road": []}

    def timed(name: str, run: Any) -> float:
        parsed = [ExportTraceServiceRequest.FromString(body) for body in bodies]  # parsing is not timed
        wall, used = time.perf_counter(), time.process_time()
        for request in parsed:
            run(request)
        cpu[name].append(spans / (time.process_time() - used))
        return spans / (time.perf_counter() - wall)

    def direct() -> float:
        direct_ingest._seen.clear()  # the same spans again each repeat: not duplicates for the measure
        return timed("direct", direct_ingest.traces)

    def road() -> float:
        return timed("road", lambda request: road_writer.write(sdk_road(request, road_anonymizer, road_writer.hub_id)))

    direct(), road()  # warm both (anonymizer caches, imports)
    for kept in cpu.values():
        kept.clear()
    samples = alternate({"direct": direct, "road": road}, repeats)
    direct_name = "hub ingest, direct protobuf -> Arrow, spans/s"
    road_name = "hub ingest, SDK-span road (before), spans/s"
    report.add(Figure(direct_name, "/s", samples["direct"], notes=f"{requests} x {SPANS_PER_REQUEST}-span requests"))
    report.add(Figure(road_name, "/s", samples["road"]))
    report.ratio(direct_name, road_name, goal=">= 50,000 /s")
    # Several installs at once, as the hub's thread pool runs them: the group commit writes one file per
    # round and Parquet encoding and fsync (which release the GIL) overlap the next requests' conversion.
    concurrent_ingest = HubIngest(LakeWriter(work / "concurrent"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))

    def concurrent() -> float:
        parsed = [ExportTraceServiceRequest.FromString(body) for body in bodies]
        concurrent_ingest._seen.clear()
        lanes = [parsed[lane :: INSTALLS // 2] for lane in range(INSTALLS // 2)]
        threads = [
            threading.Thread(target=lambda lane=lane: [concurrent_ingest.traces(r) for r in lane]) for lane in lanes
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return spans / (time.perf_counter() - started)

    concurrent()
    together = f"hub ingest, direct, {INSTALLS // 2} installs at once, spans/s"
    report.add(Figure(together, "/s", [concurrent() for _ in range(repeats)]))
    report.ratio(together, road_name, goal=">= 50,000 /s")
    # Per CPU second of this process: what a process gets from a core of its own (the machine is shared).
    direct_cpu, road_cpu = "hub ingest, direct, spans per CPU second", "hub ingest, SDK-span road, spans per CPU second"
    report.add(Figure(direct_cpu, "/s", cpu["direct"]))
    report.add(Figure(road_cpu, "/s", cpu["road"]))
    report.ratio(direct_cpu, road_cpu, goal=">= 50,000 /s")


def bench_http(report: Report, requests: int, work: Path) -> None:
    import uvicorn
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    from exporters.lake import LakeWriter, lake_files
    from processors.anonymizer import Anonymizer, PrivacyPolicy
    from telemetry.hub.app import build_hub_app
    from telemetry.hub.ingest import HubIngest

    ingest = HubIngest(LakeWriter(work / "http"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    app = build_hub_app(ingest, "bench-token")
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/fleet/bench-token/v1/traces"
    senders = 4
    batches = {s: [realistic_spans(s, SPANS_PER_REQUEST, i * SPANS_PER_REQUEST) for i in range(requests // senders)]
               for s in range(senders)}  # fmt: skip

    def send(sender: int) -> None:
        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=60)
        for batch in batches[sender]:
            exporter.export(batch)
        exporter.shutdown()

    threads = [threading.Thread(target=send, args=(s,)) for s in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    server.should_exit = True
    thread.join(10)
    import pyarrow.parquet as pq

    stored = sum(pq.ParquetFile(p).metadata.num_rows for p in lake_files(work / "http"))
    sent = senders * (requests // senders) * SPANS_PER_REQUEST
    report.add(Figure("hub ingest over HTTP (uvicorn + official OTLP exporter), spans/s", "/s", [sent / elapsed],
                      notes=f"{stored:,} of {sent:,} spans stored; 4 sender threads in the same process"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes")
    parser.add_argument("--no-http", action="store_true", help="in process only")
    args = parser.parse_args()
    report = Report("Hub ingest per process: direct protobuf -> Arrow vs the SDK-span road (issue 20)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_in_process(report, 8 if args.quick else 40, 1 if args.quick else 5, work)
        if not args.no_http:
            bench_http(report, 8 if args.quick else 40, work)
    report.print()
    report.save("hub_ingest")


if __name__ == "__main__":
    main()
