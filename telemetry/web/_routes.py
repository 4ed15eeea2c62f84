"""Routes that serve the page and its static files, with headers that keep the page to itself.

The files are read from the package once and kept in memory (a few tens of kilobytes); every response
carries a strong ETag so a reload costs a 304, except ``/dashboard``, which is streamed with the current
report in it (see ``_dashboard``). Only files listed in the package folder, with a known
extension and a plain name, are served: a request can never name a path outside it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import TypeAdapter

from telemetry.server.deps import get_token, service_of
from telemetry.server.security import presented_token, token_matches
from telemetry.web._collected import CollectedItem, collected_items
from telemetry.web._dashboard import stream_page

_MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_PLAIN_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(?:js|css|svg)$")
_PAGE: Final = "index.html"
#: Replaced in the page by the generated "what we collect" list (JSON in a non-executable script block).
_COLLECTED_SLOT: Final = b"{{collected}}"
#: Where ``/dashboard`` puts the report (just before ``</body>``); removed from the page served at ``/``.
_REPORT_SLOT: Final = b"{{report}}"

# The page runs only its own files: no inline script, no foreign origin, no framing (clickjacking on the
# delete button), no referrer (the first URL carries the access token).
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str


@cache
def _dashboard_parts() -> tuple[bytes, bytes]:
    """The page before and after the report slot."""
    folder = resources.files(__package__ or "telemetry.web") / "static"
    head, _, tail = _fill(folder.joinpath(_PAGE).read_bytes()).partition(_REPORT_SLOT)
    return head, tail


def _fill(page: bytes) -> bytes:
    return page.replace(_COLLECTED_SLOT, _collected_json())


@cache
def _load() -> dict[str, StaticFile]:
    folder = resources.files(__package__ or "telemetry.web") / "static"
    files: dict[str, StaticFile] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if not entry.is_file() or suffix not in _MEDIA_TYPES:
            continue
        body = entry.read_bytes()
        if entry.name == _PAGE:
            body = _fill(body).replace(_REPORT_SLOT, b"")
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        files[entry.name] = StaticFile(body, _MEDIA_TYPES[suffix], etag)
    return files


def _collected_json() -> bytes:
    data = TypeAdapter(list[CollectedItem]).dump_json(collected_items())
    # Inside <script>, "</script>" would end the block early: escape every "<" as JSON allows.
    return data.replace(b"<", b"\\u003c")


def page_with_block(element_id: str, data: bytes) -> StaticFile:
    """The page as ``/`` serves it, with one more inert JSON block in its head (the hub's ``page-kind``).

    ``data`` is JSON; every ``<`` in it is escaped so it cannot end the block.

    >>> page_with_block("page-kind", b'{"kind": "hub"}').body.count(b'id="page-kind"')
    1
    """
    block = f'<script type="application/json" id="{element_id}">'.encode() + data.replace(b"<", b"\\u003c")
    body = _load()[_PAGE].body.replace(b"</head>", block + b"</script>\n</head>", 1)
    return StaticFile(body, _MEDIA_TYPES[".html"], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def respond(request: Request, item: StaticFile) -> Response:
    """``item`` with the page's security headers and its ETag (a 304 when the browser has it)."""
    return _respond(request, item)


def static_names() -> tuple[str, ...]:
    """The names served under ``/static/`` (the page itself is served at ``/``)."""
    return tuple(sorted(name for name in _load() if name != _PAGE))


def _respond(request: Request, item: StaticFile) -> Response:
    headers = dict(SECURITY_HEADERS, ETag=item.etag)
    if request.headers.get("if-none-match") == item.etag:
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


router = APIRouter(include_in_schema=False)


@router.get("/")
def page(request: Request) -> Response:
    """The consent screen and the dashboard (one page; ``#dashboard`` opens the second tab)."""
    return _respond(request, _load()[_PAGE])


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    """The same page, opening on the dashboard tab (the script reads the path), with the report in it.

    Never a 304: the report changes with every new event. The report is computed in the thread pool
    while the first part of the page is already on its way. Only a page the user opens gets one: a
    GET that another site's page makes (an image, a prefetch, a frame) would otherwise cost a whole
    report for nothing, so those get the page alone, as ``/`` serves it. The report is recorded data:
    it is embedded only for a request that carries the server token (the cookie the ``/?token=`` swap
    sets); without it the page is the public shell and its own requests answer 401.
    """
    if not _opened_by_user(request) or not token_matches(get_token(request), presented_token(request)):
        return _respond(request, _load()[_PAGE])
    head, tail = _dashboard_parts()
    headers = dict(SECURITY_HEADERS, **{"Cache-Control": "no-store"})
    return StreamingResponse(
        stream_page(head, tail, service_of(request)), media_type=_MEDIA_TYPES[".html"], headers=headers
    )


def _opened_by_user(request: Request) -> bool:
    """A top-level navigation typed, bookmarked or followed from our own page (Fetch Metadata headers;
    clients that send none, like curl or an older browser, count as the user)."""
    site = request.headers.get("sec-fetch-site")
    dest = request.headers.get("sec-fetch-dest")
    return site in (None, "none", "same-origin") and dest in (None, "document")


@router.get("/api/telemetry/collected")
def collected() -> Response:
    """What the event log keeps, kind by kind (the consent screen's "what we collect"). Public, like
    ``/api/telemetry/rules``: it describes the policy, not recorded data."""
    return Response(_collected_json(), media_type="application/json", headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def static_file(name: str, request: Request) -> Response:
    item = _load().get(name) if _PLAIN_NAME.match(name) else None
    if item is None:
        return PlainTextResponse("not found", status_code=404, headers={"X-Content-Type-Options": "nosniff"})
    return _respond(request, item)
