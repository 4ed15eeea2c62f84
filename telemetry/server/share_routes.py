"""``/api/telemetry/share``: the sharing consent over REST, token-protected like every data endpoint.

* ``GET``: where to, since when, how much was sent, deletions (the same as ``peft-telemetry share status``).
* ``POST {"endpoint": URL}``: agree to share (422 when recording is off or the URL is not http(s)).
* ``DELETE [?delete=true]``: stop sharing; with ``delete``, also ask the hub to delete what was shared (the
  confirmation arrives in the background: ``pending_deletions`` / ``confirmed_deletions`` in ``GET``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from telemetry.server.deps import get_service, require_token
from telemetry.server.limits import CheckedRoute
from telemetry.service import TelemetryService

share_router = APIRouter(
    prefix="/api/telemetry/share", route_class=CheckedRoute, tags=["sharing"], dependencies=[Depends(require_token)]
)
Service = Annotated[TelemetryService, Depends(get_service)]


class ShareIn(BaseModel):
    endpoint: str = Field(min_length=1, max_length=2048, description="The URL `peft-telemetry hub` printed.")


@share_router.get("")
async def get_sharing(service: Service) -> dict[str, Any]:
    """Whether this install shares, with which hub (credential masked), since when and how much."""
    from telemetry.sharing import sharing_status

    return await run_in_threadpool(sharing_status, service)


@share_router.post("")
async def enable_share(body: ShareIn, service: Service) -> dict[str, Any]:
    """Agree to share anonymized telemetry with the hub at ``endpoint``, from now on."""
    from telemetry.sharing import ShareError, enable_sharing

    try:
        return await run_in_threadpool(enable_sharing, service, body.endpoint, source="server")
    except ShareError as exc:
        raise HTTPException(422, str(exc)) from None


@share_router.delete("")
async def disable_share(service: Service, delete: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """Stop sharing before the next batch; ``?delete=true`` also asks the hub to delete what was shared."""
    from telemetry.sharing import disable_sharing

    # The hub's confirmation is awaited in the background (GET shows it): a slow hub never holds a request.
    return await run_in_threadpool(lambda: disable_sharing(service, delete=delete, source="server", wait=False))
