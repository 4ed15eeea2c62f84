"""write_otlp_json: every line parses with the official protobuf classes; ids, counts and values survive."""

from __future__ import annotations

import base64
import io
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _exporter_helpers import make_spans, partial_table, recording_provider, span_rows
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from exporters import otlp_json
from exporters.duckdb_exporter import DuckDBMetricExporter, DuckDBSpanExporter
from exporters.eventlog import EventLog, schema
from exporters.otlp_json import write_otlp_json


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    with EventLog(tmp_path / "ev.duckdb") as opened:
        yield opened


def _hex_to_b64(value: str) -> str:
    return base64.b64encode(bytes.fromhex(value)).decode()


def _parse_lines(data: bytes) -> tuple[list[ExportTraceServiceRequest], list[ExportMetricsServiceRequest]]:
    """Parse every line with protobuf. OTLP/JSON ids are hex, protobuf's JSON wants base64: convert."""
    traces, metrics = [], []
    for line in data.splitlines():
        request = orjson.loads(line)
        if "resourceSpans" in request:
            for rs in request["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        for key in ("traceId", "spanId", "parentSpanId"):
                            if key in span:
                                span[key] = _hex_to_b64(span[key])
                        for link in span.get("links", []):
                            link["traceId"], link["spanId"] = (
                                _hex_to_b64(link["traceId"]),
                                _hex_to_b64(link["spanId"]),
                            )
            traces.append(json_format.Parse(orjson.dumps(request), ExportTraceServiceRequest()))
        else:
            assert set(request) == {"resourceMetrics"}
            metrics.append(json_format.Parse(line, ExportMetricsServiceRequest()))
    return traces, metrics


def _spans_of(requests: list[ExportTraceServiceRequest]) -> list[Any]:
    return [s for r in requests for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]


def _record_everything(log: EventLog) -> list[Any]:
    """Spans from two resources (with events, links, errors, odd values) and some metrics."""
    exporter = DuckDBSpanExporter(log)
    finished: list[Any] = []
    for session in ("s1", "s2"):
        with recording_provider({"session.id": session}) as (provider, memory):
            tracer = provider.get_tracer("scope-a", "1")
            other = provider.get_tracer("scope-b")
            with tracer.start_as_current_span("root", kind=SpanKind.SERVER) as root:
                child = tracer.start_span(
                    "child",
                    attributes={
                        "n": 3,
                        "f": 1.5,
                        "nan": math.nan,
                        "flag": True,
                        "list": [1, 2],
                        "big": 2**63 - 1,
                    },
                    links=[Link(root.get_span_context(), {"why": "x"})],
                )
                child.add_event("ev", {"k": "v"})
                child.set_status(Status(StatusCode.ERROR, "oops"))
                child.end()
                other.start_span("b", attributes={"peft.redactions": '{"email": 1}'}).end()
            finished += memory.get_finished_spans()
    assert exporter.export(finished) == SpanExportResult.SUCCESS
    reader = PeriodicExportingMetricReader(DuckDBMetricExporter(log), export_interval_millis=10**9)
    provider_m = MeterProvider(metric_readers=[reader], resource=Resource.create({"session.id": "s1"}))
    meter = provider_m.get_meter("m")
    meter.create_counter("c").add(5, {"a": "b"})
    meter.create_histogram("h", unit="ms").record(3.0)
    meter.create_gauge("g").set(2.5)
    provider_m.shutdown()
    return finished


def test_every_line_parses_and_ids_round_trip(log: EventLog) -> None:
    finished = _record_everything(log)
    out = io.BytesIO()
    summary = write_otlp_json(log, out, batch_size=4)
    raw = out.getvalue()
    assert b"NaN" not in raw and b"Infinity" not in raw
    traces, metrics = _parse_lines(raw)
    assert summary.lines == len(traces) + len(metrics) == len(raw.splitlines())
    assert summary.bytes_written == len(raw)

    exported = _spans_of(traces)
    assert summary.spans == len(exported) == len(finished) == 6
    assert all(len(_spans_of([t])) <= 4 for t in traces)
    originals = {(s.context.trace_id, s.context.span_id): s for s in finished}
    for span in exported:
        original = originals[(int.from_bytes(span.trace_id, "big"), int.from_bytes(span.span_id, "big"))]
        assert span.name == original.name
        assert span.start_time_unix_nano == original.start_time and span.end_time_unix_nano == original.end_time
        parent = original.parent.span_id if original.parent else None
        assert (int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None) == parent
        if original.name == "child":
            attrs = {kv.key: kv.value for kv in span.attributes}
            assert attrs["n"].int_value == 3 and attrs["f"].double_value == 1.5 and attrs["flag"].bool_value
            assert [v.int_value for v in attrs["list"].array_value.values] == [1, 2]
            assert attrs["big"].int_value == 2**63 - 1 and "nan" not in attrs
            assert span.status.code == 2 and span.status.message == "oops"
            assert [e.name for e in span.events] == ["ev"] and summary.span_events == 2
            assert span.links[0].span_id == original.links[0].context.span_id.to_bytes(8, "big")
        if original.name == "root":
            assert span.kind == 2  # SPAN_KIND_SERVER
        if original.name == "b":
            assert {kv.key: kv.value.string_value for kv in span.attributes}["peft.redactions"] == '{"email":1}'

    # Spans are grouped by resource and scope within a line.
    sessions = set()
    for request in traces:
        for rs in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            sessions.add(resource["session.id"])
            assert len({ss.scope.name for ss in rs.scope_spans}) == len(rs.scope_spans)
    assert sessions == {"s1", "s2"}

    points = {m.name: m for r in metrics for rm in r.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert summary.metric_points == 3
    assert points["c"].sum.data_points[0].as_double == 5 and points["c"].sum.aggregation_temporality == 1
    assert points["h"].histogram.data_points[0].count == 1 and points["h"].unit == "ms"
    assert points["g"].gauge.data_points[0].as_double == 2.5


def test_int64_fields_are_strings_and_enums_are_integers(log: EventLog) -> None:
    DuckDBSpanExporter(log).export(make_spans(1))
    out = io.BytesIO()
    write_otlp_json(log, out)
    span = orjson.loads(out.getvalue().splitlines()[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert isinstance(span["startTimeUnixNano"], str) and isinstance(span["endTimeUnixNano"], str)
    assert span["kind"] == 1 and span["status"] == {"code": 0}
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
    assert {"key": "i", "value": {"intValue": "0"}} in span["attributes"]


def test_non_finite_numbers_appended_by_other_code_are_left_out(log: EventLog) -> None:
    now = time.time_ns()
    log.append(
        schema.METRIC_POINTS,
        partial_table(
            schema.METRIC_POINTS,
            {"name": ["g", "h"], "kind": ["gauge", "histogram"], "time_ns": [now, now],
             "value": [math.nan, None], "count": [None, 2], "sum": [None, math.inf], "min": [None, -math.inf],
             "max": [None, 1.0]},
        ),
    )  # fmt: skip
    out = io.BytesIO()
    write_otlp_json(log, out)
    assert b"NaN" not in out.getvalue() and b"Infinity" not in out.getvalue()
    _, metrics = _parse_lines(out.getvalue())
    points = {m.name: m for r in metrics for rm in r.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert points["h"].histogram.data_points[0].max == 1.0
    assert not points["h"].histogram.data_points[0].HasField("sum")


def test_chunks_with_ties_and_time_ranges_export_each_span_once(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(otlp_json, "_CHUNK_MIN_ROWS", 8)
    now = time.time_ns()
    starts = [now] * 30 + [now + i for i in range(1, 41)] + [now + 50] * 9
    ids = list(range(1, len(starts) + 1))
    log.append(schema.SPANS, span_rows(ids, start_ns=starts))
    out = io.BytesIO()
    summary = write_otlp_json(log, out, batch_size=3)
    traces, _ = _parse_lines(out.getvalue())
    exported = sorted(int.from_bytes(s.span_id, "big") for s in _spans_of(traces))
    assert exported == ids and summary.spans == len(ids)

    window = io.BytesIO()
    assert write_otlp_json(log, window, start_ns=now + 1, end_ns=now + 41).spans == 40
    traces, _ = _parse_lines(window.getvalue())
    assert {s.start_time_unix_nano - now for s in _spans_of(traces)} == set(range(1, 41))


def test_events_outside_their_span_interval_are_still_exported(log: EventLog) -> None:
    with recording_provider() as (provider, memory):
        span = provider.get_tracer("t").start_span("s")
        span.add_event("early", timestamp=time.time_ns() - 10**9)  # before the span started
        span.end()
        spans = memory.get_finished_spans()
    DuckDBSpanExporter(log).export(spans)
    out = io.BytesIO()
    assert write_otlp_json(log, out).span_events == 1


def test_empty_log_writes_nothing_and_bad_batch_size_is_refused(log: EventLog) -> None:
    out = io.BytesIO()
    summary = write_otlp_json(log, out)
    assert (summary.lines, out.getvalue()) == (0, b"")
    with pytest.raises(ValueError):
        write_otlp_json(log, out, batch_size=0)


def test_export_while_another_thread_writes(log: EventLog) -> None:
    exporter = DuckDBSpanExporter(log)
    exporter.export(make_spans(200))
    stop = threading.Event()
    written: list[int] = []

    def write() -> None:
        while not stop.is_set():
            exporter.export(make_spans(20))
            written.append(20)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        out = io.BytesIO()
        summary = write_otlp_json(log, out, batch_size=50)
    finally:
        stop.set()
        writer.join()
    assert summary.spans >= 200
    assert len(_spans_of(_parse_lines(out.getvalue())[0])) == summary.spans
    assert exporter.failed_batches == 0
