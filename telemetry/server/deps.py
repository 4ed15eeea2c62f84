"""How a request finds its telemetry service and the server token, wherever the routers are mounted.

The standalone app (:func:`telemetry.server.create_app`) puts both on ``app.state``. An embedding app
that only does ``app.include_router(router)`` gets the process-wide service from
:func:`telemetry.get_telemetry` and the token file of that service's data home.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import Request

from telemetry.server.security import check_token, load_or_create_token
from telemetry.service import TelemetryService

STATE_SERVICE = "telemetry_service"
STATE_TOKEN = "telemetry_token"

_tokens: dict[Path, str] = {}
_tokens_lock = threading.Lock()


async def get_service(request: Request) -> TelemetryService:
    """Dependency: the request's service. ``async`` so FastAPI calls it inline, without a thread hop."""
    return service_of(request)


def service_of(request: Request) -> TelemetryService:
    service = getattr(request.app.state, STATE_SERVICE, None)
    if isinstance(service, TelemetryService):
        return service
    from telemetry.api import get_telemetry  # the embedding case: the app's own default service

    return get_telemetry()


def get_token(request: Request) -> str:
    token = getattr(request.app.state, STATE_TOKEN, None)
    if isinstance(token, str):
        return token
    config_dir = service_of(request).settings.config_dir
    with _tokens_lock:
        if config_dir not in _tokens:
            _tokens[config_dir] = load_or_create_token(config_dir)
        return _tokens[config_dir]


async def require_token(request: Request) -> None:
    """Dependency of every state-changing endpoint: 401 without the token, 403 with a wrong one.

    ``async`` on purpose: a sync dependency would cost a thread hop on every tracked event.
    """
    check_token(get_token(request), request)
