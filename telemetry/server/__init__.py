"""The telemetry HTTP service: the spec's REST API, an OTLP/HTTP receiver and the dashboard pages.

Standalone::

    from telemetry.server import create_app, serve
    serve(TelemetrySettings(), host="127.0.0.1", port=8000)      # what `peft-telemetry serve` runs

Inside PEFT Studio's own FastAPI backend::

    from telemetry.server import router, otlp_router
    app.include_router(router)          # /api/telemetry/...  (uses telemetry.get_telemetry())
    app.include_router(otlp_router)     # /v1/traces, /v1/metrics

Needs the ``server`` extra (fastapi, uvicorn, opentelemetry-proto, instrumentation-fastapi).
"""

from telemetry.server.app import create_app
from telemetry.server.limits import Limits, LimitsMiddleware
from telemetry.server.otlp import otlp_router
from telemetry.server.routes import router
from telemetry.server.security import LocalOnlyMiddleware, load_or_create_token
from telemetry.server.serve import serve

__all__ = [
    "Limits",
    "LimitsMiddleware",
    "LocalOnlyMiddleware",
    "create_app",
    "load_or_create_token",
    "otlp_router",
    "router",
    "serve",
]
