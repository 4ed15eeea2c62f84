"""The hub's HTTP face: OTLP/HTTP ``/v1/traces`` and ``/v1/metrics``, and ``/v1/delete`` for installs.

Installs share to one URL, ``http://host:port/fleet/<token>``, that carries the credential (any OTLP
exporter appends ``/v1/traces`` to it); an OpenTelemetry Collector in front may instead send to
``/v1/traces`` with ``Authorization: Bearer <token>``.

Nothing a client sends is trusted: the body is bounded (also after gzip), parsed and checked span by span,
anonymized again, and only then written. A body that is not OTLP, or of which no span can be taken, gets
a 4xx naming the problem and nothing is stored. A request some spans of which were rejected gets the
standard 200 with ``partial_success``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import FastAPI, Request
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from exporters.lake import delete_install, deleted_installs
from telemetry.hub._shared import Ingested
from telemetry.hub.ingest import HubIngest
from telemetry.hub.ingest_metrics import HubMetricsIngest
from telemetry.server.otlp_convert import Invalid, otlp_json_to_proto, parse_protobuf

MAX_BODY: Final = 8 * 1024 * 1024
MAX_INFLATED: Final = 32 * 1024 * 1024
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
_KEY = re.compile(r"^[0-9a-f]{64}$")
_TOMBSTONE_REFRESH_S: Final = 2.0


@dataclass(frozen=True)
class _Signal:
    """How one OTLP signal is received: its request and response messages, its ingest, its words."""

    request_type: type[Any]
    response_type: type[Any]
    ingest: Callable[[Any], Ingested]
    rejected_field: str  # the partial_success field counting what was refused
    nothing_accepted: str  # the problem named when nothing of a request could be taken


class _Refused(Exception):
    def __init__(self, status: int, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.problem, self.detail = status, problem, detail

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail, "problem": self.problem}, status_code=self.status)


def build_hub_app(ingest: HubIngest, token: str) -> FastAPI:
    """The hub's ASGI app. ``token`` is the credential of every route (in the path or as a Bearer header).

    Example::

        app = build_hub_app(HubIngest(LakeWriter(lake), anonymizer), token)
        uvicorn.run(app, host="0.0.0.0", port=4318)
    """
    app = FastAPI(title="PEFT Studio telemetry hub", openapi_url=None, docs_url=None, redoc_url=None)
    refreshed = [0.0]

    def authorized(request: Request, path_token: str | None) -> None:
        given = path_token
        if given is None:
            header = request.headers.get("authorization", "")
            given = header[7:] if header[:7].lower() == "bearer " else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise _Refused(401, "unauthorized", "the hub's credential is missing or wrong")

    def refresh_deleted() -> None:
        now = time.monotonic()
        if now - refreshed[0] >= _TOMBSTONE_REFRESH_S:
            refreshed[0] = now
            ingest.deleted |= deleted_installs(ingest.writer.lake)

    async def receive(request: Request, path_token: str | None, signal: _Signal) -> Response:
        """One OTLP export request, spans or points: checked, anonymized again, deduplicated, stored."""
        try:
            authorized(request, path_token)
            is_json, body = await _body(request)
            message: Any = (
                otlp_json_to_proto(_json(body), signal.request_type)
                if is_json
                else parse_protobuf(body, signal.request_type)
            )
            refresh_deleted()
            result = await run_in_threadpool(signal.ingest, message)
        except _Refused as refused:
            return refused.response()
        except Invalid as exc:
            return JSONResponse({"detail": str(exc), "problem": "invalid_otlp"}, status_code=400)
        except OSError:
            return JSONResponse(
                {"detail": "the lake could not take the data now", "problem": "storage_unavailable"},
                status_code=503,
                headers={"Retry-After": "2"},
            )
        if result.rejected and not result.stored and not result.duplicates:
            reason = "; ".join(sorted(result.reasons))[:1000]
            return JSONResponse({"detail": reason, "problem": signal.nothing_accepted}, status_code=400)
        answer = signal.response_type()
        if result.rejected:
            setattr(answer.partial_success, signal.rejected_field, result.rejected)
            answer.partial_success.error_message = "; ".join(sorted(result.reasons))[:1000]
        return _answer(answer, is_json)

    # Lake schema 2 stores points (metrics/), checked, anonymized again and deduplicated like spans.
    points_ingest = HubMetricsIngest(ingest)
    spans = _Signal(
        ExportTraceServiceRequest, ExportTraceServiceResponse, ingest.traces, "rejected_spans", "no_span_accepted"
    )
    points = _Signal(
        ExportMetricsServiceRequest, ExportMetricsServiceResponse, points_ingest.metrics, "rejected_data_points",
        "no_point_accepted",
    )  # fmt: skip

    async def traces(request: Request, path_token: str | None) -> Response:
        return await receive(request, path_token, spans)

    async def metrics(request: Request, path_token: str | None) -> Response:
        return await receive(request, path_token, points)

    async def delete(request: Request, path_token: str | None) -> Response:
        try:
            authorized(request, path_token)
            _, body = await _body(request, allow_protobuf=False)
            document = _json(body)
            key = document.get("deletion_key") if isinstance(document, dict) else None
            if not isinstance(key, str) or not _KEY.match(key):
                raise _Refused(400, "invalid_key", "deletion_key must be 64 lowercase hex characters")
        except _Refused as refused:
            return refused.response()
        install_id = hashlib.sha256(bytes.fromhex(key)).hexdigest()
        ingest.deleted.add(install_id)

        def run() -> int:
            with ingest.write_lock:
                return delete_install(ingest.writer.lake, install_id)

        try:
            removed = await run_in_threadpool(run)
        except OSError:
            return JSONResponse({"detail": "the lake could not be rewritten now", "problem": "storage_unavailable"},
                                status_code=503, headers={"Retry-After": "2"})  # fmt: skip
        return JSONResponse(
            {"install_id": install_id, "removed_rows": removed, "confirmed_ns": time.time_ns(), "deleted": True}
        )

    for prefix, with_token in (("/fleet/{token}", True), ("", False)):
        for name, handler in (("traces", traces), ("metrics", metrics), ("delete", delete)):
            app.add_api_route(
                f"{prefix}/v1/{name}", _bind(handler, with_token), methods=["POST"], include_in_schema=False
            )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "hub_id": ingest.writer.hub_id}

    return app


def _bind(handler: Any, with_token: bool) -> Any:
    if with_token:

        async def with_path_token(request: Request, token: str) -> Response:
            return await handler(request, token)

        return with_path_token

    async def with_header(request: Request) -> Response:
        return await handler(request, None)

    return with_header


async def _body(request: Request, *, allow_protobuf: bool = True) -> tuple[bool, bytes]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ((PROTOBUF, JSON) if allow_protobuf else (JSON,)):
        raise _Refused(415, "unsupported_media_type", f"content-type must be {PROTOBUF} or {JSON}")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise _Refused(413, "too_large", f"the body is over {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _Refused(413, "too_large", f"the body is over {MAX_BODY} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body)
    elif encoding not in ("", "identity"):
        raise _Refused(415, "unsupported_encoding", "content-encoding must be gzip or identity")
    return content_type == JSON, body


def _gunzip(body: bytes) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_INFLATED)
    except zlib.error:
        raise _Refused(400, "invalid_gzip", "the body is not valid gzip") from None
    if inflater.unconsumed_tail:
        raise _Refused(413, "too_large", f"the body inflates to over {MAX_INFLATED} bytes")
    if not inflater.eof:
        raise _Refused(400, "invalid_gzip", "the gzip body is truncated")
    return out


def _json(body: bytes) -> Any:
    import orjson

    if not body:
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _Refused(400, "invalid_json", "the body is not valid JSON") from None


def _answer(message: Any, is_json: bool) -> Response:
    if is_json:
        return JSONResponse(json_format.MessageToDict(message))
    return Response(message.SerializeToString(), media_type=PROTOBUF)
