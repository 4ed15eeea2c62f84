"""``POST /api/telemetry/insights``: trends, anomalies, regressions, heatmaps and experiments.

Returns recorded data, so it needs the per-install token (cookie or ``x-peft-token`` header), through the
same dependency as every other token-protected route. The body is :class:`InsightsFilter` itself (optional:
an empty body means everything); the answer is :class:`InsightsReport`, the models the CLI prints too.

>>> httpx.post(f"{base}/api/telemetry/insights", json={"since": "2026-11-01T00:00:00Z"},
...            headers={"x-peft-token": token}).json()["regressions"]["items"]
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from analytics.insights import Insights, InsightsFilter, InsightsReport
from telemetry.server.limits import CheckedRoute
from telemetry.server.routes import _TOKEN, PREFIX, Service, _storage

insights_router = APIRouter(prefix=PREFIX, route_class=CheckedRoute, tags=["telemetry"])


@insights_router.post("/insights", dependencies=_TOKEN)
async def insights(service: Service, filters: InsightsFilter | None = None) -> InsightsReport:
    """The insights report. Reads run in the thread pool; a busy event log is a 503 to retry."""
    filters = filters or InsightsFilter()
    async with _storage():
        return await run_in_threadpool(Insights(service.event_log.reader).report, filters)
