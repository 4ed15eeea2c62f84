"""The app factory: the REST API, the OTLP receiver and the web pages, instrumented and guarded.

Nothing is built at import time; :func:`create_app` builds (or borrows) the service when called.

Request path, outermost first::

    LocalOnlyMiddleware   foreign Host/Origin -> 403; GET /?token= -> cookie + redirect
    LimitsMiddleware      size 413, media type 415, malformed JSON 400 (named problem)
    OpenTelemetry         one SERVER span per request, route templates only
    routes                token check on state-changing endpoints, pydantic 422, handler

The two guards sit *outside* the instrumentation on purpose: a request refused there is not recorded at
all, so a refused request changes nothing stored (the instrumentation drops the 4xx spans of the requests
that do reach it, for the same reason).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry.server.deps import STATE_SERVICE, STATE_TOKEN
from telemetry.server.insights_routes import insights_router
from telemetry.server.instrumentation import UNTIMED_PATHS, ServerInstrumentation
from telemetry.server.limits import Limits, LimitsMiddleware
from telemetry.server.otlp import otlp_router
from telemetry.server.routes import router
from telemetry.server.security import LocalOnlyMiddleware, load_or_create_token
from telemetry.server.share_routes import share_router
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings

_logger = logging.getLogger(__name__)

STATE_INSTRUMENTATION = "telemetry_instrumentation"


def create_app(
    settings: TelemetrySettings | TelemetryService | None = None,
    *,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    limits: Limits | None = None,
    instrument: bool = True,
) -> FastAPI:
    """Build the telemetry service app.

    ``settings`` builds a service the app owns (shut down with the app); a ``TelemetryService`` is
    borrowed and left running. ``allowed_hosts`` adds Host names to the loopback ones (e.g. the name
    ``serve --host`` binds to); ``allowed_origins`` adds exact browser origins allowed to call the API.

    >>> app = create_app(TelemetrySettings(home=tmp_home))
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)
    """
    if isinstance(settings, TelemetryService):
        service, owned = settings, False
    else:
        service, owned = TelemetryService(settings or TelemetrySettings()), True
    token = load_or_create_token(service.settings.config_dir)
    instrumentation = ServerInstrumentation(service) if instrument else None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if instrumentation is not None:
            await run_in_threadpool(instrumentation.shutdown)
        if owned:
            await run_in_threadpool(service.shutdown)

    app = FastAPI(
        title="PEFT Studio Telemetry",
        version=service.settings.app_version,
        summary="Local-first, opt-in, anonymized telemetry: REST API and OTLP/HTTP receiver.",
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN; the schema itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
        **_native_telemetry_off(),
    )
    setattr(app.state, STATE_SERVICE, service)
    setattr(app.state, STATE_TOKEN, token)
    setattr(app.state, STATE_INSTRUMENTATION, instrumentation)
    app.include_router(router)
    app.include_router(insights_router)
    app.include_router(otlp_router)
    app.include_router(share_router)
    try:
        from telemetry.web import router as web_router
    except ImportError:
        _logger.info("telemetry server: the web pages are not installed; serving the API only")
    else:
        app.include_router(web_router)
    build_plain = app.build_middleware_stack
    if instrumentation is not None:
        instrumentation.instrument(app)
        build_instrumented = app.build_middleware_stack
        app.build_middleware_stack = lambda: _ConsentSwitch(  # type: ignore[method-assign]
            service.is_enabled, on=build_instrumented(), off=build_plain()
        )
    _guard(app, token, allowed_hosts, allowed_origins, limits or Limits())
    return app


def _native_telemetry_off() -> dict[str, Any]:
    """``FastAPI(telemetry=...)`` turning off the framework's own OpenTelemetry, where FastAPI has it.

    Newer FastAPI traces every request itself through the *global* providers, which ``serve`` makes the
    service's: that would time the intake endpoints, store the raw ``url.path`` and ``url.query`` beside
    the route template, add a span per dependency and log validation failures with their input. The
    official instrumentation (:mod:`telemetry.server.instrumentation`) is the app's one timing, with its
    allowlist. Turned off, FastAPI also skips its per-request "are the OTel globals configured?" check.
    """
    if "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}


class _ConsentSwitch:
    """Sends requests through the instrumented stack only while consent is on, and never untimed paths.

    With consent off the instrumentation would still run for every request (its spans are not sampled,
    but its middleware parses headers and builds contexts, a large share of a tracked event's cost), only
    to record nothing; for an untimed path it would only look the path up in its exclusion
    list. Both stacks share the same routes and handlers.
    """

    def __init__(self, is_enabled: Callable[[], bool], *, on: ASGIApp, off: ASGIApp) -> None:
        self._is_enabled, self._on, self._off = is_enabled, on, off
        self._untimed = frozenset(UNTIMED_PATHS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        timed = scope["type"] == "http" and scope["path"] not in self._untimed and self._is_enabled()
        app = self._on if timed else self._off
        await app(scope, receive, send)


def _guard(app: FastAPI, token: str, hosts: Iterable[str], origins: Iterable[str], limits: Limits) -> None:
    """Wrap the built middleware stack (instrumentation included) in the Host/Origin and body guards.

    ``add_middleware`` would put them inside the instrumentation, which wraps the whole stack.
    """
    hosts, origins = tuple(hosts), tuple(origins)
    build_inner = app.build_middleware_stack

    def build() -> ASGIApp:
        guarded = LocalOnlyMiddleware(
            LimitsMiddleware(build_inner(), limits), token=token, allowed_hosts=hosts, allowed_origins=origins
        )
        return ServerErrorMiddleware(guarded)

    app.build_middleware_stack = build  # type: ignore[method-assign]
