"""Fleet figures: hub ingest per process vs today's OTLP receiver, lake bytes per event, and the summary
report over a lake on DuckDB and on Spark local[2].

1. Ingest, in process (no HTTP, which both paths share): one OTLP protobuf request of 512 spans x 10
   attributes (what a sharing install sends), parsed, checked, anonymized and stored.
   * ``hub``: ``HubIngest.traces`` into a Parquet lake (parse -> convert -> anonymizer -> Arrow -> file);
   * ``receiver``: today's local OTLP receiver path: parse -> ``convert_traces`` -> the service's span
     pipeline (consent gate, queue, anonymizer, DuckDB event log), timed until flushed.
   Target (issue 20): the hub >= 50k spans/s per process. Reported as spans/s and as the ratio hub/receiver.
2. Lake bytes per event: Parquet (zstd) bytes over rows, after the ingest runs.
3. Summary report over a synthetic lake of N events (100 installs, 30 days): DuckDB vs Spark local[2],
   seconds, same answer checked.

``--quick``: small sizes and no Spark (its JVM start alone is ~20 s), for the CI smoke test. The machine
may be loaded: read the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, Report, alternate, served_settings

SPANS_PER_REQUEST = 512
INSTALL_ID = hashlib.sha256(b"bench").hexdigest()


def _request_bytes(count: int) -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    kept: list[object] = []

    class Keep(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            kept.extend(spans)
            return SpanExportResult.SUCCESS

    resource = Resource({"service.name": "peft-studio", "service.version": "1.4.0", "os.type": "linux",
                         "session.id": "b" * 32, "peft.share.install_id": INSTALL_ID})  # fmt: skip
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(Keep()))
    tracer = provider.get_tracer("peft_studio.telemetry")
    for index in range(count):
        attributes = {"peft.category": "event", "peft.event_type": "training_started", "algorithm": "lora",
                      "model_name": "llama-2-7b", "lora_r": 16, "learning_rate": 2e-4, "epochs": 3,
                      "dataset_rows": 52_000 + index, "gpu": "A100", "quantized": True}  # fmt: skip
        tracer.start_span("training_started", attributes=attributes).end()
    return encode_spans(kept).SerializeToString()  # type: ignore[arg-type]


def bench_ingest(report: Report, requests: int, repeats: int, work: Path) -> Path:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from exporters.lake import LakeWriter
    from processors.anonymizer import Anonymizer, PrivacyPolicy
    from telemetry.hub.ingest import HubIngest
    from telemetry.server.otlp_convert import convert_traces, parse_protobuf
    from telemetry.service import TelemetryService

    bodies = [_request_bytes(SPANS_PER_REQUEST) for _ in range(requests)]
    lake = work / "lake"
    ingest = HubIngest(LakeWriter(lake), Anonymizer(PrivacyPolicy(), secret=lambda: b"k" * 32))
    service = TelemetryService(served_settings(work / "home"))
    service.enable().result(10)
    spans = requests * SPANS_PER_REQUEST

    def hub() -> float:
        started = time.perf_counter()
        for body in bodies:
            ingest.traces(ExportTraceServiceRequest.FromString(body))
        return spans / (time.perf_counter() - started)

    def receiver() -> float:
        started = time.perf_counter()
        for body in bodies:
            for span in convert_traces(parse_protobuf(body, ExportTraceServiceRequest)).items:
                service.span_processor.on_end(span)
        service.flush()
        return spans / (time.perf_counter() - started)

    hub()  # warm caches (anonymizer, resource) for both
    ingest._seen.clear()
    samples = alternate({"hub": lambda: (ingest._seen.clear(), hub())[1], "receiver": receiver}, repeats)
    service.shutdown()
    hub_name, receiver_name = "ingest: hub (protobuf -> lake), spans/s", "ingest: OTLP receiver -> event log, spans/s"
    report.add(Figure(hub_name, "/s", samples["hub"]))
    report.add(Figure(receiver_name, "/s", samples["receiver"]))
    report.ratio(hub_name, receiver_name, goal=">= 50,000 /s")
    return lake


def bench_bytes(report: Report, lake: Path) -> None:
    import pyarrow.parquet as pq

    from exporters.lake import lake_files

    files = lake_files(lake)
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in files)
    size = sum(p.stat().st_size for p in files)
    report.add(Figure("lake bytes per event (zstd Parquet)", "B", [size / rows],
                      notes=f"{rows:,} rows in {len(files)} files"))  # fmt: skip


def _synthetic_lake(root: Path, events: int) -> None:
    import pyarrow.compute as pc

    from exporters.lake import LAKE_SPANS_ARROW, LakeWriter

    writer = LakeWriter(root, fsync=False)
    chunk = 500_000
    start = 1_790_000_000 * 10**9
    kinds = pa.array(["model_loaded", "training_started", "training_completed", "oom", "api_call"])
    for offset in range(0, events, chunk):
        n = min(chunk, events - offset)
        index = pa.array(range(offset, offset + n), pa.int64())
        install = pc.cast(pc.bit_wise_and(index, 127), pa.int64())  # 128 installs
        kind = pc.take(kinds, pc.bit_wise_and(index, 3))
        start_ns = pc.add(pc.multiply(pc.bit_wise_and(index, 0xFFFFF), 2_470_000_000), start)  # ~30 days
        table = pa.table({
            "share_id": pc.cast(index, pa.string()), "install_id": pc.cast(install, pa.string()),
            "trace_id": pc.cast(index, pa.string()), "span_id": pc.cast(index, pa.string()),
            "name": kind, "kind": pa.nulls(n, pa.string()).fill_null("INTERNAL"), "start_ns": start_ns,
            "end_ns": start_ns, "duration_ms": pc.cast(pc.bit_wise_and(index, 1023), pa.float64()),
            "category": pc.if_else(pc.equal(kind, "oom"), "error", "event"), "event_type": kind,
            "error_type": pc.if_else(pc.equal(kind, "oom"), "OutOfMemoryError", pa.scalar(None, pa.string())),
            "metric_name": pc.if_else(pc.equal(kind, "api_call"), "api_response_time", pa.scalar(None, pa.string())),
            "metric_value": pc.cast(pc.bit_wise_and(index, 255), pa.float64()),
            "app_version": pc.cast(pc.bit_wise_and(install, 3), pa.string()),
            "os_type": pc.if_else(pc.equal(pc.bit_wise_and(install, 1), 0), "linux", "darwin"),
            "received_ns": start_ns, "hub_id": pa.nulls(n, pa.string()).fill_null("bench"),
        })  # fmt: skip
        for name in LAKE_SPANS_ARROW.names:
            if name not in table.column_names:
                table = table.append_column(name, pa.nulls(n, LAKE_SPANS_ARROW.field(name).type))
        writer.write(table)


def bench_reports(report: Report, events: int, work: Path, spark: bool) -> None:
    from analytics.fleet.duckdb_engine import DuckDBLake
    from analytics.fleet.reports import compute
    from analytics.fleet.spark_engine import SparkLake, spark_session

    lake = work / "report-lake"
    _synthetic_lake(lake, events)

    def duck() -> tuple[float, object]:
        started = time.perf_counter()
        with DuckDBLake(lake, threads=2) as db:
            answer = compute(db.rows, "summary", 5)
        return time.perf_counter() - started, answer

    duck_s, duck_answer = duck()
    label = f"{events / 1e6:g}M events"
    report.add(Figure(f"summary report, DuckDB (2 threads), {label}", "s", [duck_s]))
    if not spark:
        return
    session = spark_session("local[2]")
    started = time.perf_counter()
    with SparkLake(lake, session=session) as lake_spark:
        spark_answer = compute(lake_spark.rows, "summary", 5)
    spark_s = time.perf_counter() - started
    session.stop()
    report.add(Figure(f"summary report, Spark local[2], {label}", "s", [spark_s],
                      notes="same answer" if spark_answer == duck_answer else "ANSWERS DIFFER"))  # fmt: skip
    report.ratio(f"summary report, Spark local[2], {label}", f"summary report, DuckDB (2 threads), {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes")
    parser.add_argument("--events", type=int, help="events in the report lake (default 20M, quick 200k)")
    parser.add_argument("--no-spark", action="store_true", help="DuckDB only (quick runs skip Spark: CI time)")
    args = parser.parse_args()
    report = Report("Fleet: hub ingest, lake size, reports on DuckDB and Spark (issue 20)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lake = bench_ingest(report, 2 if args.quick else 20, 1 if args.quick else 3, work)
        bench_bytes(report, lake)
        events = args.events or (200_000 if args.quick else 20_000_000)
        bench_reports(report, events, work, spark=not (args.quick or args.no_spark))
    report.print()
    report.save("fleet")


if __name__ == "__main__":
    main()
