"""The OTLP/HTTP receiver: ``POST /v1/traces`` and ``POST /v1/metrics``, protobuf or JSON.

Any process, in any language, can send through the standard OTLP exporters::

    OTLPSpanExporter(endpoint="http://127.0.0.1:8000/v1/traces", headers={"Authorization": "Bearer <token>"})

Received spans are handed to the service's span pipeline entry (``service.span_processor``: consent gate,
then the background queue, anonymizer and event log); received metrics to ``service.metric_exporter``
(consent gate, anonymizer, event log). With consent off nothing is stored and the answer is still the
standard success response, so senders do not retry data the user declined to share.

Answers follow the OTLP/HTTP spec: 200 with ``Export*ServiceResponse`` (``partial_success`` counts the
spans or points rejected one by one, with the reasons), in the request's encoding; 400 for a body that is
not an OTLP request at all; 503 (retryable) when the event log could not take the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.metrics.export import MetricExportResult
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from telemetry.server.deps import require_token, service_of
from telemetry.server.limits import JSON_TYPE, PROTOBUF_TYPE, SCOPE_BODY, SCOPE_JSON, CheckedRoute
from telemetry.server.otlp_convert import (
    Converted,
    Invalid,
    convert_metrics,
    convert_traces,
    otlp_json_to_proto,
    parse_protobuf,
)
from telemetry.service import TelemetryService

_REQUEST_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            PROTOBUF_TYPE: {"schema": {"type": "string", "format": "binary"}},
            JSON_TYPE: {"schema": {"type": "object", "description": "OTLP JSON (hex trace and span ids)"}},
        },
    }
}
_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The standard OTLP export response (partial_success when items were rejected).",
        "content": {PROTOBUF_TYPE: {"schema": {"type": "string", "format": "binary"}}, JSON_TYPE: {}},
    },
    400: {"description": "The body is not an OTLP export request."},
    503: {"description": "The event log could not take the data now; retry later."},
}


class StorageUnavailable(Exception):
    """The metric exporter chain reported failure (e.g. the event log is locked by another process)."""


@dataclass(frozen=True)
class _Signal:
    request_type: type[Message]
    response_type: type[Message]
    convert: Any


_TRACES: Final = _Signal(ExportTraceServiceRequest, ExportTraceServiceResponse, convert_traces)
_METRICS: Final = _Signal(ExportMetricsServiceRequest, ExportMetricsServiceResponse, convert_metrics)

otlp_router = APIRouter(route_class=CheckedRoute, tags=["otlp"], dependencies=[Depends(require_token)])


@otlp_router.post("/v1/traces", openapi_extra=_REQUEST_BODY, responses=_RESPONSES, response_class=Response)
async def receive_traces(request: Request) -> Response:
    """OTLP/HTTP traces: spans pass the consent gate, the anonymizer and the event log."""
    return await _receive(request, _TRACES)


@otlp_router.post("/v1/metrics", openapi_extra=_REQUEST_BODY, responses=_RESPONSES, response_class=Response)
async def receive_metrics(request: Request) -> Response:
    """OTLP/HTTP metrics: data points pass the consent gate, the anonymizer and the event log."""
    return await _receive(request, _METRICS)


async def _receive(request: Request, signal: _Signal) -> Response:
    service = service_of(request)
    is_json = request.headers.get("content-type", "").split(";")[0].strip().lower() == JSON_TYPE
    body = request.scope.get(SCOPE_BODY)
    if body is None:  # pragma: no cover - CheckedRoute or LimitsMiddleware always stash the body
        body = await request.body()
    document = request.scope.get(SCOPE_JSON)
    try:
        response = await run_in_threadpool(_ingest, service, signal, body, document, is_json)
    except Invalid as exc:
        return JSONResponse({"detail": str(exc), "problem": "invalid_otlp"}, status_code=400)
    except StorageUnavailable:
        return JSONResponse(
            {"detail": "the event log could not take the data now", "problem": "storage_unavailable"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    if is_json:
        return JSONResponse(json_format.MessageToDict(response))
    return Response(response.SerializeToString(), media_type=PROTOBUF_TYPE)


def _ingest(service: TelemetryService, signal: _Signal, body: bytes, document: Any, is_json: bool) -> Message:
    """Parse, convert and hand over one request. Runs in the thread pool: protobuf and conversion are CPU."""
    if is_json:
        # The JSON was parsed and checked with the body limits already; an empty body is an empty request.
        message = otlp_json_to_proto(document if document is not None else {}, signal.request_type)
    else:
        message = parse_protobuf(body, signal.request_type)
    if not service.is_enabled():
        # Declined data is not converted at all (the consent gate would drop every item anyway): the
        # standard success answer, so senders do not retry what the user chose not to share.
        return signal.response_type()
    converted: Converted = signal.convert(message)
    if signal is _TRACES:
        gate = service.span_processor
        for span in converted.items:
            gate.on_end(span)
        traces = ExportTraceServiceResponse()
        if converted.rejected:
            traces.partial_success.rejected_spans = converted.rejected
            traces.partial_success.error_message = converted.message
        return traces
    for metrics_data in converted.items:
        if service.metric_exporter.export(metrics_data) is not MetricExportResult.SUCCESS:
            raise StorageUnavailable()
    metrics = ExportMetricsServiceResponse()
    if converted.rejected:
        metrics.partial_success.rejected_data_points = converted.rejected
        metrics.partial_success.error_message = converted.message
    return metrics
