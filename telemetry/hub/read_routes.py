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
the thread pool; each reads the lake's published files, which appear and are replaced whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from analytics import AnalyticsFilter
from analytics.insights import InsightsFilter
from exporters._failure_log import FailureLog
from telemetry.server.deps import STATE_TOKEN, require_token
from telemetry.server.limits import CheckedRoute
from telemetry.server.security import LocalOnlyMiddleware

_logger = logging.getLogger(__name__)
_failures = FailureLog(_logger, logging.WARNING)

PREFIX: Final = "/api/telemetry"
#: Paths installs and collectors use (credential in the path or a Bearer header): no Host/Origin rule.
OPEN_PREFIXES: Final = ("/fleet/", "/v1/", "/healthz")
#: A file listed by a read but replaced before it was opened (compaction, deletion): read again.
_ATTEMPTS: Final = 3
_T = TypeVar("_T")


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

    @router.post("/analytics")
    async def analytics(filters: AnalyticsFilter | None = None) -> Response:
        """The dashboard's report over the lake, k-anonymous (``AnalyticsReport`` plus ``min_installs``,
        ``installs`` and ``suppressed``)."""
        from analytics.fleet.dashboard import fleet_analytics

        report = await _read(lambda: fleet_analytics(lake, filters or AnalyticsFilter(), min_installs=k))
        return report if isinstance(report, Response) else _json(report.model_dump(mode="json"))

    @router.post("/insights")
    async def insights(filters: InsightsFilter | None = None) -> Response:
        """The insights report over the lake, k-anonymous."""
        try:
            from analytics.fleet.insights import fleet_insights  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return JSONResponse(
                {"detail": "fleet insights are not part of this build", "problem": "not_available"}, status_code=501
            )
        report = await _read(lambda: fleet_insights(lake, filters or InsightsFilter(), engine="duckdb", min_installs=k))
        return report if isinstance(report, Response) else _json(report.model_dump(mode="json"))

    @router.get("/fleet")
    async def fleet() -> Response:
        """The fleet view: totals, versions, OS mix and installs per day (``run_fleet_report(lake, "fleet")``)."""
        from analytics.fleet import run_fleet_report

        report = await _read(lambda: run_fleet_report(lake, "fleet", min_installs=k))
        return report if isinstance(report, Response) else _json(report)

    return router


async def _read(read: Callable[[], _T]) -> _T | Response:
    """``read()`` in the thread pool, again when a listed file vanished; a 503 when the lake cannot be read."""
    import duckdb

    for attempt in range(_ATTEMPTS):
        try:
            return await run_in_threadpool(read)
        except duckdb.IOException:
            if attempt < _ATTEMPTS - 1:
                continue
            problem = "the lake's files changed under every read; try again"
        except (duckdb.Error, OSError) as exc:
            # The type only: a message could quote stored values.
            _failures.record("read", "hub: a read of the lake failed (%s); further failures are counted",
                             type(exc).__name__)  # fmt: skip
            problem = "the lake could not be read now"
        break
    return JSONResponse(
        {"detail": problem, "problem": "lake_unavailable"}, status_code=503, headers={"Retry-After": "2"}
    )


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json", headers={"Cache-Control": "no-store"})


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
