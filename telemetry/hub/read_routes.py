"""The hub's read side: the page, the fleet dashboard, insights and the fleet view, guarded like the service.

* ``GET /``: the service's page with ``<script type="application/json" id="page-kind">{"kind": "hub",
  "hub_id": ..., "min_installs": k}</script>`` in its head (the page then shows Fleet, Dashboard, Insights);
  ``GET /?token=<dashboard token>`` swaps the token for the HttpOnly cookie and redirects to ``/``.
* ``POST /api/telemetry/analytics`` (body :class:`AnalyticsFilter`): :func:`analytics.fleet.dashboard.fleet_analytics`.
* ``POST /api/telemetry/insights`` (body ``InsightsFilter``): ``analytics.fleet.insights.fleet_insights``.
* ``GET /api/telemetry/fleet``: the ``fleet`` report of :mod:`analytics.fleet.reports`.

Every answer is k-anonymous (groups of fewer than ``min_installs`` installs are left out). The data routes
need the dashboard token (cookie, ``X-PEFT-Token`` or ``Authorization: Bearer``), which is not the
installs' credential: every install holds that one, the dashboard's stays with whoever runs the hub. The
service's own guards do the checking (:mod:`telemetry.server.security`: local or configured Host names only,
same-origin requests only, the token-for-cookie swap; :class:`~telemetry.server.limits.CheckedRoute`: bounded,
well-formed JSON bodies). The OTLP routes (``/fleet/<token>/v1/...``, ``/v1/...``) and ``/healthz`` stay
outside those guards: installs on other machines reach them by whatever name they were given. Reads run in
worker threads, two at a time; each reads the lake's published files, which appear and are replaced whole,
and its answer is kept until the files change.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics import AnalyticsFilter
from analytics.insights import InsightsFilter
from exporters._failure_log import FailureLog
from exporters.lake import lake_files
from telemetry.server.deps import STATE_TOKEN, require_token
from telemetry.server.limits import CheckedRoute
from telemetry.server.security import LocalOnlyMiddleware

_logger = logging.getLogger(__name__)
_failures = FailureLog(_logger, logging.WARNING)

PREFIX: Final = "/api/telemetry"
#: Paths installs and collectors use (credential in the path or a Bearer header): no Host/Origin rule.
OPEN_PREFIXES: Final = ("/fleet/", "/v1/", "/healthz")
_CONCURRENT_READS: Final = 2
_KEPT_ANSWERS: Final = 16


@dataclass(frozen=True)
class HubReads:
    """What the read routes serve: the lake, the hub's id for the page, k, and the dashboard token."""

    lake: Path
    hub_id: str
    token: str
    min_installs: int = 5
    allowed_hosts: tuple[str, ...] = ()


def add_read_routes(app: FastAPI, reads: HubReads) -> None:
    """Mount the page and the read API on the hub's ``app`` and guard them (Host/Origin, token, cookie).

    Example::

        app = build_hub_app(ingest, token)
        add_read_routes(app, HubReads(lake, writer.hub_id, load_or_create_token(lake), min_installs=5))
    """
    if reads.min_installs < 1:
        raise ValueError("min_installs must be >= 1")
    setattr(app.state, STATE_TOKEN, reads.token)  # what require_token checks against
    app.include_router(_page_router(reads))
    app.include_router(_api_router(reads))
    _guard(app, reads)


def _page_router(reads: HubReads) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    try:
        from telemetry.web import page_with_block, respond, static_file
    except ImportError:  # a wheel without the pages: the API alone
        _logger.info("hub: the web pages are not installed; serving the API only")
        return router
    kind = {"kind": "hub", "hub_id": reads.hub_id, "min_installs": reads.min_installs}
    page = page_with_block("page-kind", orjson.dumps(kind))

    @router.get("/")
    @router.get("/dashboard")  # the service's address of the same page (the script opens its tab by path)
    def index(request: Request) -> Response:
        """The page (a public shell: its data comes from the token-protected API)."""
        return respond(request, page)

    router.add_api_route("/static/{name}", static_file, methods=["GET"])
    return router


def _api_router(reads: HubReads) -> APIRouter:
    router = APIRouter(prefix=PREFIX, route_class=CheckedRoute, dependencies=[Depends(require_token)])
    lake, k = reads.lake, reads.min_installs
    reader = _LakeReader(lake)

    @router.post("/analytics")
    async def analytics(filters: AnalyticsFilter | None = None) -> Response:
        """The dashboard's report over the lake, k-anonymous (``AnalyticsReport`` plus ``min_installs``,
        ``installs`` and ``suppressed``)."""
        from analytics.fleet.dashboard import fleet_analytics

        f = filters or AnalyticsFilter()
        return await reader.answer(
            ("analytics", f.model_dump_json()),
            lambda: fleet_analytics(lake, f, min_installs=k).model_dump(mode="json"),
        )

    @router.post("/insights")
    async def insights(filters: InsightsFilter | None = None) -> Response:
        """The insights report over the lake, k-anonymous."""
        try:
            from analytics.fleet.insights import fleet_insights  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return JSONResponse(
                {"detail": "fleet insights are not part of this build", "problem": "not_available"}, status_code=501
            )
        f = filters or InsightsFilter()
        return await reader.answer(
            ("insights", f.model_dump_json()),
            lambda: fleet_insights(lake, f, engine="duckdb", min_installs=k).model_dump(mode="json"),
        )

    @router.get("/fleet")
    async def fleet() -> Response:
        """The fleet view: totals, versions, OS mix and installs per day (``run_fleet_report(lake, "fleet")``)."""
        from analytics.fleet import run_fleet_report

        return await reader.answer(("fleet", ""), lambda: run_fleet_report(lake, "fleet", min_installs=k))

    return router


class _LakeReader:
    """Runs reads of the lake in worker threads, a few at a time, and keeps recent answers.

    Each read materializes its selection in memory, so at most ``_CONCURRENT_READS`` run at once (more
    requests wait their turn instead of multiplying the memory). An answer is kept, keyed by the request
    and the lake's files (name, size, modification time), until the files change: a refresh of an unchanged
    lake costs a directory listing.
    """

    def __init__(self, lake: Path) -> None:
        self._lake = lake
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, at first use
        self._answers: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()

    async def answer(self, key: tuple[str, str], read: Callable[[], Any]) -> Response:
        """``read()``'s answer as JSON; a 503 naming the problem when the lake cannot be read."""
        import duckdb

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(_CONCURRENT_READS)
        try:
            body = await anyio.to_thread.run_sync(self._cached, key, read, limiter=self._limiter)
        except duckdb.IOException:  # the reads list the lake again themselves (``relisted``); it kept changing
            problem = "the lake's files changed under every read; try again"
        except (duckdb.Error, OSError) as exc:
            # The type only: a message could quote stored values.
            _failures.record("read", "hub: a read of the lake failed (%s); further failures are counted",
                             type(exc).__name__)  # fmt: skip
            problem = "the lake could not be read now"
        else:
            return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
        return JSONResponse(
            {"detail": problem, "problem": "lake_unavailable"}, status_code=503, headers={"Retry-After": "2"}
        )

    def _cached(self, key: tuple[str, str], read: Callable[[], Any]) -> bytes:
        files = _signature(self._lake)
        with self._lock:
            kept = self._answers.get((key, files)) if files is not None else None
        if kept is not None:
            return kept
        body = orjson.dumps(read())
        if files is not None:
            with self._lock:
                self._answers[(key, files)] = body
                while len(self._answers) > _KEPT_ANSWERS:
                    self._answers.popitem(last=False)
        return body


def _signature(lake: Path) -> tuple[tuple[str, int, int, int], ...] | None:
    """The lake's published files as (path, inode, size, mtime): a file renamed over another (a deletion's
    rewrite) is a new inode. None when one vanished while being listed."""
    try:
        return tuple((str(p), (st := p.stat()).st_ino, st.st_size, st.st_mtime_ns) for p in lake_files(lake))
    except FileNotFoundError:
        return None


def _guard(app: FastAPI, reads: HubReads) -> None:
    """Put the service's Host/Origin guard and cookie swap around everything but the OTLP routes."""
    build_inner = app.build_middleware_stack

    def build() -> ASGIApp:
        inner = build_inner()
        guarded = LocalOnlyMiddleware(inner, token=reads.token, allowed_hosts=reads.allowed_hosts)

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            open_path = scope["type"] == "http" and scope["path"].startswith(OPEN_PREFIXES)
            await (inner if open_path else guarded)(scope, receive, send)

        return dispatch

    app.build_middleware_stack = build  # type: ignore[method-assign]
