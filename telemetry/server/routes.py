"""The REST API under ``/api/telemetry``: the spec's endpoints plus what the dashboard needs.

Thin on purpose: each handler parses (pydantic), calls the service or analytics, and formats. Recording
calls (``track_*``) take about a microsecond and run on the event loop, behind a direct route
(:class:`~telemetry.server.fastroute.JsonRoute`: same schema and errors, no dependency solver); anything
that touches the disk (analytics, export, erasure, stats) runs in the thread pool or on the service's own
I/O thread, so one slow query never stalls the other requests. State-changing endpoints and every endpoint that
returns recorded data need the server token; only ``/rules`` and ``GET /consent`` are public.

Mount it in another FastAPI app with ``app.include_router(router)``; set
``app.state.telemetry_service`` to use a service other than :func:`telemetry.get_telemetry`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, Final, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from analytics import Analytics, AnalyticsFilter, AnalyticsReport
from exporters.eventlog import EventLogError
from exporters.fs import make_private_dirs
from telemetry.catalog import CatalogOut
from telemetry.server.deps import get_service, require_token
from telemetry.server.fastroute import JsonRoute
from telemetry.server.limits import CheckedRoute
from telemetry.server.models import (
    Accepted,
    ConsentStatus,
    ConsentUpdate,
    Deleted,
    ErrorIn,
    EventIn,
    PerformanceIn,
    Preview,
    PreviewIn,
    Rule,
    Status,
)
from telemetry.service import TelemetryService
from telemetry.settings import CONSENT_POLICY_VERSION

PREFIX: Final = "/api/telemetry"
_CHUNK: Final = 256 * 1024
_NS_MAX: Final = 2**63 - 1

router = APIRouter(prefix=PREFIX, route_class=CheckedRoute, tags=["telemetry"])
Service = Annotated[TelemetryService, Depends(get_service)]
_TOKEN = [Depends(require_token)]
_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Awaitable[Accepted]])


def _consent(service: TelemetryService) -> ConsentStatus:
    store = service.consent
    return ConsentStatus(
        enabled=store.enabled,
        user_choice=store.user_choice,
        do_not_track=store.do_not_track,
        reason=store.reason,
        anonymous_user_id=service.anonymous_user_id,
        policy_version=CONSENT_POLICY_VERSION,
        consented_policy_version=store.record.policy_version,
        consent_changed_at=store.record.consent_changed_at,
    )


@contextlib.asynccontextmanager
async def _storage() -> AsyncIterator[None]:
    """A busy or unreadable event log is a 503 the client may retry, not a 500."""
    try:
        yield
    except EventLogError as exc:
        raise HTTPException(
            503,
            f"the event log is unavailable now ({type(exc).__name__}); retry",
            headers={"Retry-After": "1"},
        ) from None


# -- consent -----------------------------------------------------------------------------------------


@router.get("/consent")
async def get_consent(service: Service) -> ConsentStatus:
    """Whether telemetry is on, why, and the anonymous id the user is known by."""
    return _consent(service)


@router.post("/consent", dependencies=_TOKEN)
async def set_consent(update: ConsentUpdate, service: Service) -> ConsentStatus:
    """Opt in or out. Answers once the choice and its ledger entry are on disk."""
    future = service.enable(source="server") if update.enabled else service.disable(source="server")
    try:
        await asyncio.wrap_future(future)
    except OSError:
        # In effect for this run already; only the file could not be written (full disk, read-only home).
        raise HTTPException(503, "the choice is in effect but could not be saved to the config file") from None
    return _consent(service)


# -- recording ---------------------------------------------------------------------------------------


def _tracking(path: str) -> Callable[[_Endpoint], _Endpoint]:
    """``@router.post(path)`` with the token, served by the direct :class:`JsonRoute`."""

    def register(endpoint: _Endpoint) -> _Endpoint:
        router.add_api_route(path, endpoint, methods=["POST"], dependencies=_TOKEN, route_class_override=JsonRoute)
        return endpoint

    return register


@_tracking("/events")
async def track_event(event: EventIn, service: Service) -> Accepted:
    """The spec's ``track_event``; ``accepted`` is false (and nothing is kept) while telemetry is off."""
    service.track_event_sync(event.event_type, event.properties)
    return Accepted(accepted=service.is_enabled())


@_tracking("/performance")
async def track_performance(metric: PerformanceIn, service: Service) -> Accepted:
    """The spec's ``track_performance``: one measurement with its unit."""
    service.track_performance_sync(metric.metric_name, metric.value, metric.unit)
    return Accepted(accepted=service.is_enabled())


@_tracking("/errors")
async def track_error(error: ErrorIn, service: Service) -> Accepted:
    """An error seen by the frontend (type, message, stack); anonymized like a Python traceback."""
    service.track_reported_error_sync(error.type, error.message, error.stack, error.context or None)
    return Accepted(accepted=service.is_enabled())


# -- reading -----------------------------------------------------------------------------------------


@router.post("/analytics", dependencies=_TOKEN)
async def analytics(service: Service, filters: AnalyticsFilter | None = None) -> AnalyticsReport:
    """The dashboard's report. Filters are bound SQL parameters; events appear within the flush interval.

    The body is ``AnalyticsFilter`` itself (time range in ns, event types, session), so what the API
    accepts is exactly what the analytics accept; an empty body means everything.
    """
    filters = filters or AnalyticsFilter()
    async with _storage():
        return await run_in_threadpool(Analytics(service.event_log.reader).report, filters)


@router.get("/status", dependencies=_TOKEN)
async def status(service: Service) -> Status:
    """Consent, identity, what the pipeline did and dropped, and what the event log holds."""
    log_stats, log_error = None, None
    try:
        log_stats = await run_in_threadpool(service.event_log.stats)
    except Exception as exc:  # a locked or damaged file is something to show, not a 500
        log_error = type(exc).__name__
    return Status(
        consent=_consent(service),
        session_id=service.session_id,
        session_start=service.session_start,
        pipeline=service.stats(),
        event_log=log_stats,
        event_log_error=log_error,
    )


@router.post("/preview", dependencies=_TOKEN)
async def preview(event: PreviewIn, service: Service) -> Preview:
    """What would be stored for this event after anonymization. Nothing is recorded."""
    return Preview(event=service.anonymizer.preview({"event_type": event.event_type, "properties": event.properties}))


@router.get("/rules")
async def rules(service: Service) -> list[Rule]:
    """The anonymizer's rules: what each removes and the marker it leaves."""
    return [
        Rule(id=r.id, description=r.description, marker=r.marker, kind=str(r.kind), builtin=r.builtin)
        for r in service.anonymizer.rules()
    ]


@router.get("/catalog")
async def catalog(service: Service) -> CatalogOut:
    """The declared events (contract 1): what each carries; public, it describes policy, not data."""
    return service.catalog.describe()


# -- data control ------------------------------------------------------------------------------------


class _FileStream(StreamingResponse):
    """Streams an already unlinked file and closes it however the response ends (even a disconnect)."""

    def __init__(self, fd: int, *, media_type: str, headers: dict[str, str]) -> None:
        self._fd = fd
        super().__init__(self._chunks(), media_type=media_type, headers=headers)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while chunk := await run_in_threadpool(os.read, self._fd, _CHUNK):
            yield chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with contextlib.suppress(OSError):
                os.close(self._fd)


@router.get(
    "/export",
    dependencies=_TOKEN,
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "OTLP JSON Lines"}},
)
async def export(
    service: Service,
    start_ns: Annotated[int | None, Query(ge=0, le=_NS_MAX)] = None,
    end_ns: Annotated[int | None, Query(ge=0, le=_NS_MAX)] = None,
) -> StreamingResponse:
    """Everything recorded, as an OTLP JSON Lines download (one Export*ServiceRequest per line).

    Written first to a private temporary file (the event log's lock is held only while writing, never
    while a slow client downloads), which is unlinked at once and streamed from its open descriptor.
    """
    folder = service.settings.home / "exports"
    await run_in_threadpool(make_private_dirs, folder)
    fd, name = tempfile.mkstemp(prefix=".server-export-", suffix=".jsonl", dir=folder)  # mode 0600
    os.close(fd)
    try:
        async with _storage():
            summary = await asyncio.wrap_future(service.export_all(Path(name), start_ns=start_ns, end_ns=end_ns))
        handle = os.open(name, os.O_RDONLY)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
    filename = f"peft-telemetry-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    return _FileStream(
        handle,
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(os.fstat(handle).st_size),
            "X-Export-Spans": str(summary.spans),
            "X-Export-Metric-Points": str(summary.metric_points),
            "Cache-Control": "no-store",
        },
    )


@router.delete("/data", dependencies=_TOKEN)
async def delete_data(service: Service) -> Deleted:
    """Erase every recorded byte and rotate the anonymous id; the consent choice itself is kept."""
    async with _storage():
        await asyncio.wrap_future(service.delete_all())
    return Deleted(deleted=True, anonymous_user_id=service.anonymous_user_id)
