"""OTLP JSON export in spans per second: ``write_otlp_json`` against upstream's OTLP JSON file exporter.

The same spans for both: N finished SDK spans (``training_started`` with the 10 properties of
``bench_pipeline``; one in ten an error with an ``exception`` span event) are built once, kept in memory
for upstream, and stored in a DuckDB event log through ``DuckDBSpanExporter`` for ours. Then, alternated
and repeated, each writes them all to a real file as OTLP/JSON Lines in lines of 512 spans:

* ours: ``exporters.otlp_json.write_otlp_json(log, file)``, which also *reads* the spans back from DuckDB
  (chunked) — the baseline starts from spans already in memory, so this is ours with a handicap;
* upstream: ``opentelemetry-exporter-otlp-json-file``'s ``FileSpanExporter(stream=file).export(batch)``.
  Where that package is not installed: its encoder ``opentelemetry-exporter-otlp-json-common`` +
  ``json.dumps``, which is what the file exporter runs; failing that, the protobuf encoder
  (``opentelemetry.exporter.otlp.proto.common``) + ``json_format.MessageToJson``. The figure's name says
  which baseline ran.

Our output's first line is parsed with the official ``ExportTraceServiceRequest`` class as a sanity check.
``--quick``: 3,000 spans, 3 rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PROPERTIES, Figure, Report, alternate
from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog
from exporters.otlp_json import write_otlp_json

BATCH = 512
ATTRIBUTES: dict[str, AttributeValue] = {k: v for k, v in PROPERTIES.items() if isinstance(v, str | bool | int | float)}
STACK = 'File "trainer.py", line 1532, in train\nFile "torch/nn/module.py", line 1501, in _call_impl'


class Collect(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def make_spans(n: int) -> list[ReadableSpan]:
    collect = Collect()
    provider = TracerProvider(resource=Resource.create({"service.name": "peft-studio", "service.version": "0.1.0"}))
    provider.add_span_processor(SimpleSpanProcessor(collect))
    tracer = provider.get_tracer("peft_studio.telemetry")
    for i in range(n):
        span = tracer.start_span("training_started", attributes=ATTRIBUTES)
        if i % 10 == 9:
            span.add_event(
                "exception",
                {
                    "exception.type": "torch.cuda.OutOfMemoryError",
                    "exception.message": "CUDA out of memory. Tried to allocate 2.00 GiB",
                    "exception.stacktrace": STACK,
                },
            )
            span.set_status(Status(StatusCode.ERROR, "CUDA out of memory"))
        span.end()
    provider.shutdown()
    return collect.spans


def upstream_writer() -> tuple[str, Callable[[Sequence[ReadableSpan], IO[str]], None]]:
    """The best upstream baseline that is installed: (label, write all spans to a text file)."""
    try:
        from opentelemetry.exporter.otlp.json.file import FileSpanExporter

        def file_exporter(spans: Sequence[ReadableSpan], out: IO[str]) -> None:
            exporter = FileSpanExporter(stream=out)
            for i in range(0, len(spans), BATCH):
                exporter.export(spans[i : i + BATCH])

        return "upstream FileSpanExporter (otlp-json-file)", file_exporter
    except ImportError:
        pass
    try:
        from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans as encode_json

        print("note: opentelemetry-exporter-otlp-json-file is not installed; baseline is its encoder")

        def json_common(spans: Sequence[ReadableSpan], out: IO[str]) -> None:
            for i in range(0, len(spans), BATCH):
                out.write(json.dumps(encode_json(spans[i : i + BATCH]).to_dict(), separators=(",", ":")) + "\n")

        return "upstream otlp-json-common encoder + json.dumps", json_common
    except ImportError:
        pass
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as encode_proto

    print("note: no upstream OTLP JSON exporter installed; baseline is protobuf + MessageToJson (base64 ids)")

    def message_to_json(spans: Sequence[ReadableSpan], out: IO[str]) -> None:
        for i in range(0, len(spans), BATCH):
            out.write(json_format.MessageToJson(encode_proto(spans[i : i + BATCH]), indent=None) + "\n")

    return "upstream protobuf encoder + MessageToJson", message_to_json


def check_ours(path: Path, spans: int) -> None:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    with open(path, "rb") as f:
        first = f.readline()
    request = json_format.Parse(first, ExportTraceServiceRequest())
    n = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
    assert 0 < n <= BATCH, n
    assert spans > 0


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 spans, 3 rounds")
    parser.add_argument("--spans", type=int, default=None, help="spans (default 20,000)")
    args = parser.parse_args(argv)
    n = args.spans or (3_000 if args.quick else 20_000)
    repeats = 3 if args.quick else 5
    assert len(ATTRIBUTES) == len(PROPERTIES)
    spans = make_spans(n)
    label, upstream = upstream_writer()
    report = Report(f"Export: OTLP JSON Lines, {n:,} spans, spans/s (issue 7)")
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp_dir:
        tmp = Path(tmp_dir)
        log = EventLog(tmp / "events.duckdb", max_events=max(n, 1_000))
        try:
            exporter = DuckDBSpanExporter(log)
            for i in range(0, n, 4096):
                assert exporter.export(spans[i : i + 4096]) is SpanExportResult.SUCCESS
            assert log.stats().spans == n

            def run_ours() -> float:
                path = tmp / "ours.jsonl"
                start = time.perf_counter()
                with open(path, "wb") as out:
                    summary = write_otlp_json(log, out, batch_size=BATCH)
                elapsed = time.perf_counter() - start
                assert summary.spans == n, summary
                sizes["ours"] = summary.bytes_written
                check_ours(path, summary.spans)
                return n / elapsed

            def run_upstream() -> float:
                path = tmp / "upstream.jsonl"
                start = time.perf_counter()
                with open(path, "w", encoding="utf-8") as out:
                    upstream(spans, out)
                elapsed = time.perf_counter() - start
                sizes["upstream"] = path.stat().st_size
                return n / elapsed

            samples = alternate({"upstream": run_upstream, "ours": run_ours}, repeats)
        finally:
            log.close()
    report.add(Figure(label, "span/s", samples["upstream"], notes=f"{sizes['upstream'] / n:.0f} B/span; in memory"))
    ours_name = "ours: write_otlp_json (reads DuckDB)"
    report.add(Figure(ours_name, "span/s", samples["ours"], notes=f"{sizes['ours'] / n:.0f} B/span"))
    report.ratio(ours_name, label, "goal > 1x")
    report.print()
    print(f"results: {report.save('export')}")
    return report


if __name__ == "__main__":
    main()
