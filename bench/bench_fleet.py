"""Fleet figures: hub ingest per process vs today's OTLP receiver, lake bytes per event, and the summary
report over a lake on DuckDB and on Spark local[2].

1. Ingest, in process (no HTTP, which both paths share): one OTLP protobuf request of 512 spans x 10
   attributes (what a sharing install sends), parsed, checked, anonymized and stored.
   * ``hub``: ``HubIngest.traces`` into a Parquet lake (parse -> convert -> anonymizer -> Arrow -> file);
   * ``receiver``: today's local OTLP receiver path: parse -> ``convert_traces`` -> the service's span
     pipeline (consent gate, queue, anonymizer, DuckDB event log), timed until flushed.
   Target (issue 20): the hub >= 50k spans/s per process. Reported as spans/s and as the ratio hub/receiver.
2. Lake bytes per event: Parquet (zstd) bytes over rows, after the ingest runs.
3. A synthetic lake of N events (bench/_fleet_lake.py: one DuckDB ``COPY``, realistic distributions over
   20,000 installs, 30 days and event types, the lake's file naming and atomic renames), its bytes per
   event, and the summary report (and the insights report, when ``analytics.fleet.insights`` exists) on
   DuckDB (2 threads) and Spark local[2], seconds, same answer checked. ``--events 100000000`` builds the
   100M-event lake of issue 20 in minutes; ``--spark-events`` times Spark on a second, smaller lake.

``--quick``: small sizes and no Spark (its JVM start alone is ~20 s), for the CI smoke test. The machine
may be loaded: read the ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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


def _has_insights() -> bool:
    """``analytics.fleet.insights.fleet_insights`` (contract C3) is written by another helper: timed when
    present."""
    import importlib.util

    if importlib.util.find_spec("analytics.fleet.insights") is None:
        return False
    from analytics.fleet import insights

    return callable(getattr(insights, "fleet_insights", None))


def _timed(run: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    answer = run()
    return time.perf_counter() - started, answer


def bench_reports(report: Report, events: int, work: Path, spark: bool, kept: Path | None = None) -> None:
    """Build a synthetic lake of ``events`` (bench/_fleet_lake.py, DuckDB COPY), report its bytes per event,
    time the summary (and insights) reports on DuckDB (2 threads) and, if asked, Spark local[2]. ``kept``:
    build the lake there, or reuse it when a run before built it (100M events take minutes to write)."""
    from analytics.fleet.duckdb_engine import DuckDBLake
    from analytics.fleet.reports import compute
    from bench._fleet_lake import INSTALLS, build_lake
    from exporters.lake import lake_files

    label = f"{events / 1e6:g}M events"
    lake = kept / f"lake-{events}" if kept else work / f"report-lake-{events}"
    built = (lake / ".built").exists()
    if not built:
        shutil.rmtree(lake, ignore_errors=True)  # a build cut short
        build_s, _ = _timed(lambda: build_lake(lake, events))
        (lake / ".built").write_text(f"{build_s}\n")
    files = lake_files(lake)
    size = sum(p.stat().st_size for p in files)
    reused = " (built by an earlier run)" if built else ""
    report.add(Figure(f"synthetic lake, {label}: build (DuckDB COPY)", "s", [float((lake / ".built").read_text())],
                      notes=f"{len(files)} files, {INSTALLS:,} installs, 30 days{reused}"))  # fmt: skip
    report.add(Figure(f"synthetic lake, {label}: bytes per event", "B", [size / events],
                      notes=f"{size / 2**30:.2f} GiB zstd Parquet; past days compacted, the newest live"))  # fmt: skip

    def duck_summary() -> object:
        with DuckDBLake(lake, threads=2, memory_limit="4GB") as db:
            return compute(db.rows, "summary", 5)

    duck_s, duck_answer = _timed(duck_summary)
    duck_name = f"summary report, DuckDB (2 threads), {label}"
    report.add(Figure(duck_name, "s", [duck_s], notes=f"{events / duck_s / 1e6:.2f}M events/s"))
    insights = _has_insights()
    if insights:
        from analytics.fleet.insights import fleet_insights

        insights_s, duck_insights = _timed(lambda: fleet_insights(lake, engine="duckdb", min_installs=5))
        report.add(Figure(f"insights report, DuckDB, {label}", "s", [insights_s]))
    if not spark:
        return
    from analytics.fleet.spark_engine import SparkLake, spark_memory, spark_session

    session = spark_session("local[2]")

    def spark_summary() -> object:
        with SparkLake(lake, session=session) as lake_spark:
            return compute(lake_spark.rows, "summary", 5)

    spark_name = f"summary report, Spark local[2], {label}"
    try:
        spark_s, spark_answer = _timed(spark_summary)
    except Exception as exc:  # e.g. out of memory at a size the driver heap cannot hold: a finding, said so
        session.stop()
        memory = spark_memory("local[2]")[0]
        report.add(Figure(spark_name, "s", [float("nan")], notes=f"FAILED ({type(exc).__name__}), driver {memory}"))
        return
    session.stop()
    report.add(Figure(spark_name, "s", [spark_s],
                      notes="same answer" if spark_answer == duck_answer else "ANSWERS DIFFER"))  # fmt: skip
    report.ratio(spark_name, duck_name)
    if insights:
        from analytics.fleet.insights import fleet_insights

        spark_insights_s, answer = _timed(
            lambda: fleet_insights(lake, engine="spark", min_installs=5, spark_master="local[2]")
        )
        same = answer == duck_insights
        report.add(Figure(f"insights report, Spark local[2], {label}", "s", [spark_insights_s],
                          notes="same answer" if same else "ANSWERS DIFFER"))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes")
    parser.add_argument("--events", type=int, help="events in the report lake (default 20M, quick 200k)")
    parser.add_argument("--spark-events", type=int, help="a second, smaller lake for Spark (default: --events)")
    parser.add_argument("--no-spark", action="store_true", help="DuckDB only (quick runs skip Spark: CI time)")
    parser.add_argument("--no-ingest", action="store_true", help="skip the ingest part (reports only)")
    parser.add_argument("--lake", type=Path, help="keep the report lakes in this folder and reuse them next run")
    args = parser.parse_args()
    report = Report("Fleet: hub ingest, lake size, reports on DuckDB and Spark (issue 20)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.no_ingest:
            lake = bench_ingest(report, 2 if args.quick else 20, 1 if args.quick else 3, work)
            bench_bytes(report, lake)
        events = args.events or (200_000 if args.quick else 20_000_000)
        spark = not (args.quick or args.no_spark)
        spark_events = args.spark_events or events
        bench_reports(report, events, work, spark=spark and spark_events == events, kept=args.lake)
        if spark and spark_events != events:
            bench_reports(report, spark_events, work, spark=True, kept=args.lake)
    report.print()
    report.save("fleet")


if __name__ == "__main__":
    main()
