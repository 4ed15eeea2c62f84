"""The OTLP/HTTP receiver, with the official OTLP exporters as the client and with hand-written OTLP JSON."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator

import orjson
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from exporters.eventlog import schema
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("consent_on")

TRACE_HEX = "5b8efff798038103d269b633813fc60c"
SPAN_HEX = "eee19b7ec3c1b174"
PARENT_HEX = "eee19b7ec3c1b173"


@pytest.fixture
def tracer_provider(server: LiveServer) -> Iterator[TracerProvider]:
    exporter = OTLPSpanExporter(endpoint=f"{server.base_url}/v1/traces", headers=server.auth, timeout=10)
    provider = TracerProvider(resource=Resource.create({"service.name": "other-app", "host.name": "box-7"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def test_official_span_exporter_round_trip(server: LiveServer, tracer_provider: TracerProvider) -> None:
    name = f"remote_op_{uuid.uuid4().hex[:8]}"
    tracer = tracer_provider.get_tracer("remote.lib", "1.2.3")
    with (
        tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes={"user.email": "dan@example.com"}),
        tracer.start_as_current_span(name + "_child", attributes={"rows": 42}) as child,
    ):
        child.add_event("checkpoint", {"step": 3})
        child.set_status(Status(StatusCode.ERROR, "failed"))
    [parent] = server.spans("name = ?", [name])
    [child_row] = server.spans("name = ?", [name + "_child"])
    assert parent["kind"] == "CLIENT"
    assert parent["scope_name"] == "remote.lib" and parent["scope_version"] == "1.2.3"
    assert parent["resource"]["service.name"] == "other-app"
    assert child_row["trace_id"] == parent["trace_id"]
    assert child_row["parent_span_id"] == parent["span_id"]
    assert child_row["attributes"]["rows"] == 42
    assert child_row["status_code"] == "ERROR"
    events = server.query(f"SELECT name FROM {schema.SPAN_EVENTS} WHERE span_id = ?", [child_row["span_id"]])
    assert events == [("checkpoint",)]
    # Received spans pass the same anonymizer as local ones.
    assert "dan@example.com" not in orjson.dumps(parent).decode()


def test_official_span_exporter_with_gzip(server: LiveServer) -> None:
    exporter = OTLPSpanExporter(
        endpoint=f"{server.base_url}/v1/traces", headers=server.auth, compression=Compression.Gzip, timeout=10
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    name = f"gzipped_{uuid.uuid4().hex[:8]}"
    provider.get_tracer("t").start_span(name).end()
    provider.shutdown()
    assert len(server.spans("name = ?", [name])) == 1


def test_official_span_exporter_without_token_fails(server: LiveServer) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{server.base_url}/v1/traces", timeout=5)
    provider = TracerProvider()
    span = provider.get_tracer("t").start_span("unauthorized")
    span.end()
    assert exporter.export([span]) is SpanExportResult.FAILURE  # type: ignore[list-item]
    exporter.shutdown()
    provider.shutdown()
    assert server.spans("name = 'unauthorized'") == []


def test_official_metric_exporter_round_trip(server: LiveServer) -> None:
    exporter = OTLPMetricExporter(endpoint=f"{server.base_url}/v1/metrics", headers=server.auth, timeout=10)
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=Resource.create({"service.name": "other-app"}), metric_readers=[reader])
    meter = provider.get_meter("remote.meter")
    name = f"remote_requests_{uuid.uuid4().hex[:6]}"
    meter.create_counter(name, unit="1").add(5, {"route": "/x"})
    meter.create_histogram(name + "_ms", unit="ms").record(12.5)
    data = reader.get_metrics_data()
    assert data is not None
    assert exporter.export(data).name == "SUCCESS"
    exporter.shutdown()
    provider.shutdown()
    server.flush()
    rows = server.query(
        f"SELECT name, kind, value, count, sum, unit FROM {schema.METRIC_POINTS} WHERE name LIKE ? ORDER BY name",
        [name + "%"],
    )
    assert rows == [(name, "sum", 5.0, None, None, "1"), (name + "_ms", "histogram", None, 1, 12.5, "ms")]


def _json_request(name: str, *, trace_id: str = TRACE_HEX, span_id: str = SPAN_HEX) -> dict[str, object]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "browser"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "web-sdk", "version": "0.1"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "parentSpanId": PARENT_HEX,
                                "name": name,
                                "kind": 2,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000250000000",
                                "attributes": [
                                    {"key": "http.route", "value": {"stringValue": "/items/{id}"}},
                                    {"key": "count", "value": {"intValue": "7"}},
                                    {"key": "nested", "value": {"kvlistValue": {"values": [
                                        {"key": "a", "value": {"boolValue": True}}]}}},
                                ],
                                "status": {"code": 1},
                            }
                        ],
                    }
                ],
            }
        ]
    }  # fmt: skip


def test_otlp_json_round_trip_keeps_hex_ids(server: LiveServer) -> None:
    name = f"json_span_{uuid.uuid4().hex[:8]}"
    span_id = uuid.uuid4().hex[:16]
    with server.client(headers=server.auth) as http:
        response = http.post("/v1/traces", json=_json_request(name, span_id=span_id))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    [row] = server.spans("name = ?", [name])
    assert (row["trace_id"], row["span_id"], row["parent_span_id"]) == (TRACE_HEX, span_id, PARENT_HEX)
    assert row["kind"] == "SERVER" and row["status_code"] == "OK"
    assert row["duration_ms"] == pytest.approx(250.0)
    assert row["attributes"]["count"] == 7 and row["attributes"]["nested.a"] is True
    assert row["scope_name"] == "web-sdk"


def test_bad_spans_are_rejected_one_by_one(server: LiveServer) -> None:
    name = f"partial_{uuid.uuid4().hex[:8]}"
    body = _json_request(name, span_id=uuid.uuid4().hex[:16])
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    good = spans[0]
    spans.append({**good, "spanId": "0000000000000000"})  # all-zero id
    spans.append({**good, "traceId": "abcd"})  # wrong length
    spans.append({**good, "endTimeUnixNano": "1"})  # ends before it starts
    with server.client(headers=server.auth) as http:
        response = http.post("/v1/traces", json=body)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "3"
    assert "span_id" in partial["errorMessage"] and "trace_id" in partial["errorMessage"]
    assert len(server.spans("name = ?", [name])) == 1


def test_protobuf_response_is_protobuf_with_partial_success(server: LiveServer) -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = "no_times", bytes.fromhex(TRACE_HEX), bytes.fromhex(SPAN_HEX)
    nul = request.resource_spans[0].scope_spans[0].spans.add()
    nul.CopyFrom(span)
    nul.start_time_unix_nano = nul.end_time_unix_nano = 1_700_000_000_000_000_000
    nul.name = "nul\x00name"  # valid protobuf, refused by us: DuckDB and the export cannot carry it
    with server.client(headers=server.auth) as http:
        response = http.post(
            "/v1/traces",
            content=gzip.compress(request.SerializeToString()),
            headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 2
    assert "NUL" in answer.partial_success.error_message
    assert server.spans("name = 'no_times' OR name LIKE 'nul%'") == []


def test_with_consent_off_nothing_is_stored_and_the_answer_is_still_success(
    server: LiveServer, tracer_provider: TracerProvider
) -> None:
    with server.client(headers=server.auth) as http:
        assert http.post("/api/telemetry/consent", json={"enabled": False}).status_code == 200
        before = server.stored_state()
        name = f"declined_{uuid.uuid4().hex[:8]}"
        response = http.post("/v1/traces", json=_json_request(name, span_id=uuid.uuid4().hex[:16]))
        assert response.status_code == 200 and response.json() == {}
        point = {"asDouble": 1.5, "timeUnixNano": "1700000000000000000"}
        metrics = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": name, "gauge": {"dataPoints": [point]}}
        ]}]}]}  # fmt: skip
        assert http.post("/v1/metrics", json=metrics).status_code == 200
        assert server.stored_state() == before
        assert http.post("/api/telemetry/consent", json={"enabled": True}).status_code == 200


def test_otlp_json_metrics_are_stored(server: LiveServer) -> None:
    name = f"json_gauge_{uuid.uuid4().hex[:6]}"
    metrics = {"resourceMetrics": [{"resource": {}, "scopeMetrics": [{"scope": {"name": "s"}, "metrics": [
        {"name": name, "unit": "By", "gauge": {"dataPoints": [
            {"asInt": "1024", "timeUnixNano": "1700000000000000000"},
            {"asDouble": 2.5, "timeUnixNano": "1700000001000000000"}]}},
        {"name": name + "_hist", "histogram": {"aggregationTemporality": 1, "dataPoints": [
            {"count": "3", "sum": 6.0, "bucketCounts": ["1", "2"], "explicitBounds": [1.0],
             "startTimeUnixNano": "1", "timeUnixNano": "1700000000000000000"},
            {"count": "3", "bucketCounts": ["1", "2", "3"], "explicitBounds": [1.0],
             "timeUnixNano": "1700000000000000000"}]}},
        {"name": name + "_summary", "summary": {"dataPoints": [{"count": "1"}]}},
    ]}]}]}  # fmt: skip
    with server.client(headers=server.auth) as http:
        response = http.post("/v1/metrics", json=metrics)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedDataPoints"] == "2"  # the bad histogram point and the summary
    server.flush()
    rows = server.query(
        f"SELECT name, value, count FROM {schema.METRIC_POINTS} WHERE name LIKE ? ORDER BY name, time_ns",
        [name + "%"],
    )
    assert rows == [(name, 1024.0, None), (name, 2.5, None), (name + "_hist", None, 3)]


def test_receiver_requests_are_not_timed(server: LiveServer) -> None:
    with server.client(headers=server.auth) as http:
        http.post("/v1/traces", json=_json_request("x", span_id=uuid.uuid4().hex[:16]))
        http.get("/api/telemetry/rules")  # a timed one, as the positive control
    assert server.spans("name LIKE 'POST /v1/%'") == []
    assert server.spans("name = 'GET /api/telemetry/rules'")


def test_empty_requests_are_fine(server: LiveServer) -> None:
    with server.client(headers=server.auth) as http:
        empty_pb = http.post("/v1/traces", content=b"", headers={"Content-Type": "application/x-protobuf"})
        empty_json = http.post("/v1/metrics", json={})
    assert empty_pb.status_code == 200 and empty_json.status_code == 200
    assert ExportTraceServiceResponse.FromString(empty_pb.content) == ExportTraceServiceResponse()
    assert empty_json.json() == {}
