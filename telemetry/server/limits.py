"""Request limits: every body is bounded, typed and well-formed before any handler sees it.

Starlette accepts any body size, and Python's ``json`` accepts ``NaN``, lone surrogates and integers of any
length; on a naive endpoint a lone ``\\ud800`` becomes a 500 from DuckDB's UTF-8 encoder and a stored
``NaN`` makes the export invalid JSON (``docs/design-notes.md``). So a body is read with a cap (413), its
media type and encoding are checked (415), and a JSON body is parsed once here with hooks that refuse what
our storage cannot hold (400 with a ``problem`` code naming it). A rejected request never reaches a
handler, so nothing stored changes.

:class:`LimitsMiddleware` applies this in front of the whole standalone app (before the HTTP
instrumentation, so a rejected request is not even recorded); :class:`CheckedRoute` applies the same
checks inside the routers, for an embedding app that mounts them without the middleware.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Final

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_TYPE: Final = "application/json"
PROTOBUF_TYPE: Final = "application/x-protobuf"
#: Paths whose bodies are OTLP (protobuf or JSON, maybe gzip) instead of the REST API's JSON.
OTLP_PATHS: Final = frozenset({"/v1/traces", "/v1/metrics"})
#: Set in the ASGI scope once the body passed the checks; the checked body and parsed JSON ride along.
SCOPE_CHECKED: Final = "peft.body_checked"
SCOPE_BODY: Final = "peft.body"
SCOPE_JSON: Final = "peft.json"

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: Every JSON string token in order, and whether a colon follows it (then it is an object key).
_STRING_TOKEN: Final = re.compile(rb'"(?:[^"\\]|\\.)*"[ \t\n\r]*(:?)', re.S)
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson would turn into a float.
_LONG_DIGITS: Final = re.compile(rb"[0-9]{19}")
_INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """Bounds on one request body. The defaults fit the REST API; :meth:`for_otlp` widens them for batches."""

    max_body_bytes: int = 1 << 20
    max_depth: int = 32
    max_keys: int = 2_000
    max_array_length: int = 10_000
    max_string_length: int = 65_536
    max_key_length: int = 256

    def for_otlp(self) -> Limits:
        # An OTLP JSON batch of 512 spans with 10 attributes holds ~15k objects of 2-4 keys each.
        return replace(
            self, max_body_bytes=max(self.max_body_bytes, 4 << 20), max_depth=64, max_keys=1_000_000,
            max_array_length=100_000,
        )  # fmt: skip


class RequestProblem(Exception):
    """A request refused before it reached a handler. ``code`` names the problem for programs."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail, "problem": self.code}, status_code=self.status)


def parse_json(body: bytes, limits: Limits) -> Any:
    """Parse a JSON body, refusing what JSON allows but we must not store. Raises :class:`RequestProblem`.

    Two roads, one answer: orjson with a quick check of the result takes every body that is clearly fine
    (much faster than ``json`` with hooks); anything else (orjson refuses it, a check fails, or it may
    hold a duplicate key or a huge integer) is parsed again by the careful parser, which names the
    problem. So the careful parser decides every refusal, and the quick road only accepts what it would.

    >>> parse_json(b'{"a": [1, 2.5, "x"]}', Limits())
    {'a': [1, 2.5, 'x']}
    """
    quick = _parse_quick(body, limits)
    return quick if quick is not _REFER else _parse_careful(body, limits)


_REFER: Final = object()  # the quick road's "ask the careful parser"


def _parse_quick(body: bytes, limits: Limits) -> Any:
    if _LONG_DIGITS.search(body) is not None:
        return _REFER
    try:
        value = orjson.loads(body)  # refuses NaN, Infinity, overflow, lone surrogates, invalid UTF-8
    except orjson.JSONDecodeError:
        return _REFER
    keys = _quick_check(value, limits)
    # orjson keeps the last of duplicate keys silently: fewer keys parsed than written means duplicates.
    if keys is None or (keys and keys != _STRING_TOKEN.findall(body).count(b":")):
        return _REFER
    return value


def _quick_check(root: Any, limits: Limits) -> int | None:
    """The number of object keys in ``root``, or None if any limit is broken (the careful parser names it)."""
    keys = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is str:
            if len(value) > limits.max_string_length or "\x00" in value:
                return None
        elif kind is dict:
            keys += len(value)
            if depth > limits.max_depth or keys > limits.max_keys:
                return None
            for key, item in value.items():
                if len(key) > limits.max_key_length or "\x00" in key:
                    return None
                stack.append((item, depth + 1))
        elif kind is list:
            if depth > limits.max_depth or len(value) > limits.max_array_length:
                return None
            stack.extend((item, depth + 1) for item in value)
    return keys


def _parse_careful(body: bytes, limits: Limits) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("invalid_utf8", "the body is not valid UTF-8") from None
    keys = 0

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal keys
        keys += len(pairs)
        if keys > limits.max_keys:
            raise _bad("too_many_keys", f"more than {limits.max_keys} object keys in the body")
        out: dict[str, Any] = {}
        for key, value in pairs:
            if len(key) > limits.max_key_length:
                raise _bad("key_too_long", f"an object key is longer than {limits.max_key_length} characters")
            _check_text(key, "an object key")
            if key in out:
                raise _bad("duplicate_key", "an object has the same key twice")
            out[key] = value
        return out

    try:
        value = json.loads(
            text,
            object_pairs_hook=pairs_hook,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise _bad("nesting_too_deep", f"the body nests deeper than {limits.max_depth} levels") from None
    except json.JSONDecodeError as exc:
        # exc.msg names the grammar rule ("Expecting value"), never the body's content.
        raise _bad("invalid_json", f"the body is not valid JSON ({exc.msg} at position {exc.pos})") from None
    _check_tree(value, limits)
    return value


def _bad(code: str, detail: str) -> RequestProblem:
    return RequestProblem(400, code, detail)


def _parse_int(text: str) -> int:
    # Checked on the literal: int() of a 5,000-digit string is itself a denial of service.
    if len(text.lstrip("-")) > 19 or abs(number := int(text)) > _INT64_MAX:
        raise _bad("number_too_large", "an integer does not fit in 64 bits")
    return number


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _bad("number_too_large", "a number is too large for a 64-bit float")
    return number


def _refuse_constant(text: str) -> Any:
    raise _bad("nan_or_infinity", "NaN and Infinity are not JSON numbers")


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        raise _bad("nul_character", f"{what} contains a NUL character")
    if _SURROGATE.search(text):
        raise _bad("lone_surrogate", f"{what} contains a lone UTF-16 surrogate")


def _check_tree(root: Any, limits: Limits) -> None:
    # Iterative: a deep body must not cost us the recursion limit a second time.
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > limits.max_string_length:
                raise _bad("string_too_long", f"a string is longer than {limits.max_string_length} characters")
            _check_text(value, "a string")
        elif isinstance(value, dict | list):
            if depth > limits.max_depth:
                raise _bad("nesting_too_deep", f"the body nests deeper than {limits.max_depth} levels")
            items = value.values() if isinstance(value, dict) else value
            if isinstance(value, list) and len(value) > limits.max_array_length:
                raise _bad("array_too_long", f"an array has more than {limits.max_array_length} items")
            stack.extend((item, depth + 1) for item in items)


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
            raise _bad("invalid_content_length", "the Content-Length header is not a number")
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
        raise _bad("invalid_gzip", "the body is not valid gzip") from None
    if len(out) > cap or inflater.unconsumed_tail:
        raise RequestProblem(413, "body_too_large", f"the decompressed body is larger than {cap} bytes")
    if not inflater.eof:
        raise _bad("invalid_gzip", "the gzip body is truncated")
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
