"""Request limits: every body is bounded, typed and well-formed before any handler sees it.

Starlette accepts any body size (``docs/design-notes.md``). So a body is read with a cap (413), its media
type and encoding are checked (415), and a JSON body is parsed once, by :func:`~telemetry.server.json_body.parse_json`,
which refuses what our storage cannot hold (400 with a ``problem`` code naming it). A rejected request
never reaches a handler, so nothing stored changes.

:class:`LimitsMiddleware` applies this in front of the whole standalone app (before the HTTP
instrumentation, so a rejected request is not even recorded); :class:`CheckedRoute` applies the same
checks inside the routers, for an embedding app that mounts them without the middleware.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.server.json_body import Limits, RequestProblem, parse_json

__all__ = [
    "JSON_TYPE",
    "OTLP_PATHS",
    "PROTOBUF_TYPE",
    "SCOPE_BODY",
    "SCOPE_CHECKED",
    "SCOPE_JSON",
    "CheckedRoute",
    "Limits",
    "LimitsMiddleware",
    "RequestProblem",
    "checked_request",
    "needs_check",
    "parse_json",
    "read_checked_body",
]

JSON_TYPE: Final = "application/json"
PROTOBUF_TYPE: Final = "application/x-protobuf"
#: Paths whose bodies are OTLP (protobuf or JSON, maybe gzip) instead of the REST API's JSON.
OTLP_PATHS: Final = frozenset({"/v1/traces", "/v1/metrics"})
#: Set in the ASGI scope once the body passed the checks; the checked body and parsed JSON ride along.
SCOPE_CHECKED: Final = "peft.body_checked"
SCOPE_BODY: Final = "peft.body"
SCOPE_JSON: Final = "peft.json"

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- reading a body ----------------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _media_type(content_type: str | None) -> tuple[str, str]:
    """``("application/json", "utf-8")`` from a Content-Type header; charset defaults to utf-8."""
    if not content_type:
        return "", "utf-8"
    media, _, params = content_type.partition(";")
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def needs_check(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["method"] in _BODY_METHODS and not scope.get(SCOPE_CHECKED)


async def read_checked_body(scope: Scope, receive: Receive, limits: Limits) -> tuple[bytes, Any]:
    """Read and check the body of ``scope``: returns (body, parsed JSON or None). Raises RequestProblem.

    A body-less DELETE (or POST) passes with an empty body; the handler's own validation decides.
    """
    otlp = scope["path"] in OTLP_PATHS
    if otlp:
        limits = limits.for_otlp()
    length_header = _header(scope, b"content-length")
    chunked = _header(scope, b"transfer-encoding") is not None
    if length_header is not None:
        if not length_header.isdigit():
            raise RequestProblem(400, "invalid_content_length", "the Content-Length header is not a number")
        if int(length_header) > limits.max_body_bytes:
            raise RequestProblem(413, "body_too_large", f"the body is larger than {limits.max_body_bytes} bytes")
        if int(length_header) == 0 and not chunked:
            return b"", None
    elif not chunked:
        return b"", None
    media, charset = _media_type(_header(scope, b"content-type"))
    allowed = (JSON_TYPE, PROTOBUF_TYPE) if otlp else (JSON_TYPE,)
    if media not in allowed:
        raise RequestProblem(415, "unsupported_media_type", f"the Content-Type must be {' or '.join(allowed)}")
    if media == JSON_TYPE and charset not in ("utf-8", "utf8"):
        raise RequestProblem(415, "unsupported_charset", "JSON bodies must be UTF-8")
    encoding = (_header(scope, b"content-encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip") or (encoding == "gzip" and not otlp):
        raise RequestProblem(415, "unsupported_encoding", "the Content-Encoding is not supported here")
    body = await _read_capped(receive, limits.max_body_bytes)
    if encoding == "gzip":
        body = _gunzip_capped(body, limits.max_body_bytes)
    parsed = parse_json(body, limits) if media == JSON_TYPE else None
    return body, parsed


async def _read_capped(receive: Receive, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestProblem(400, "client_disconnected", "the client went away before sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise RequestProblem(413, "body_too_large", f"the body is larger than {cap} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _gunzip_capped(data: bytes, cap: int) -> bytes:
    # Bounded output: a few kilobytes of gzip can expand to gigabytes.
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error:
        raise RequestProblem(400, "invalid_gzip", "the body is not valid gzip") from None
    if len(out) > cap or inflater.unconsumed_tail:
        raise RequestProblem(413, "body_too_large", f"the decompressed body is larger than {cap} bytes")
    if not inflater.eof:
        raise RequestProblem(400, "invalid_gzip", "the gzip body is truncated")
    return out


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _checked_scope(scope: Scope, body: bytes, parsed: Any) -> Scope:
    # Decompressed bodies must not keep announcing gzip to the handler.
    headers = [(k, v) for k, v in scope.get("headers", ()) if k not in (b"content-encoding", b"content-length")]
    headers.append((b"content-length", str(len(body)).encode()))
    return {**scope, "headers": headers, SCOPE_CHECKED: True, SCOPE_BODY: body, SCOPE_JSON: parsed}


class LimitsMiddleware:
    """ASGI middleware that reads, bounds and checks every request body before the app runs."""

    def __init__(self, app: ASGIApp, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not needs_check(scope):
            await self.app(scope, receive, send)
            return
        try:
            body, parsed = await read_checked_body(scope, receive, self.limits)
        except RequestProblem as problem:
            await problem.response()(scope, receive, send)
            return
        await self.app(_checked_scope(scope, body, parsed), _replay(body, receive), send)


class CheckedRoute(APIRoute):
    """An ``APIRoute`` that applies the same body checks when no :class:`LimitsMiddleware` ran before it."""

    limits: Limits = Limits()

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limits = self.limits

        async def checked(request: Request) -> Response:
            try:
                request = await checked_request(request, limits)
            except RequestProblem as problem:
                return problem.response()
            if request.scope.get(SCOPE_JSON) is not None:
                # Parsed and checked once already: FastAPI's handler must not parse the body again.
                request._json = request.scope[SCOPE_JSON]
            return await handler(request)

        return checked


async def checked_request(request: Request, limits: Limits) -> Request:
    """``request`` if a :class:`LimitsMiddleware` checked its body already, else a copy checked here.

    Raises :class:`RequestProblem`.
    """
    if not needs_check(request.scope):
        return request
    body, parsed = await read_checked_body(request.scope, request.receive, limits)
    return Request(_checked_scope(request.scope, body, parsed), _replay(body, request.receive))
