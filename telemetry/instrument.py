"""``instrument_fastapi(app)``: the official OpenTelemetry FastAPI instrumentation, with our privacy rules.

One SERVER span per request, named by the route template (``GET /models/{model_id}``), keeping only
``telemetry.http_spans.HTTP_ATTRIBUTES`` (route template, method, status, scheme, protocol). An allowlist, not a list of
things to strip: raw paths (``http.target``, ``url.path``, ``http.url``), query strings, client addresses,
Host and User-Agent are never stored, and a semconv release that adds another raw field adds nothing.
Requests that matched no route (a 404 scan has no template) are not recorded. The per-request ASGI
``http send``/``http receive`` spans are not created. The instrumentation's own metrics go to a no-op
meter provider: they repeat the spans and carry the Host header.

The spans go through the service's pipeline entry: the same consent gate, anonymizer and event log as
``track_*``. Needs the ``server`` extra (``pip install 'peft-studio-telemetry[server]'``).

>>> app = FastAPI()
>>> telemetry.instrument_fastapi(app, excluded_urls=["/healthz", "/metrics"])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

    from telemetry.service import TelemetryService


class FastAPIInstrumentation:
    """What :func:`instrument_fastapi` installed; :meth:`uninstrument` takes it off again."""

    def __init__(self, app: FastAPI, tracer_provider: TracerProvider) -> None:
        self.app = app
        self.tracer_provider = tracer_provider

    def uninstrument(self) -> None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.uninstrument_app(self.app)
        self.tracer_provider.shutdown()


def instrument_fastapi(
    app: FastAPI, *, service: TelemetryService | None = None, excluded_urls: Iterable[str] = ()
) -> FastAPIInstrumentation:
    """Time every request of ``app`` into the event log, by route template, nothing raw.

    ``excluded_urls``: regular expressions searched in the full URL (as OpenTelemetry's
    ``OTEL_PYTHON_FASTAPI_EXCLUDED_URLS``), e.g. ``["/healthz$", "/static/"]``; matching requests are not
    timed. ``service`` defaults to the process-wide one. Call it before the app starts serving.
    """
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from processors.consent import ConsentSampler
    from telemetry.http_spans import RouteOnlySpanProcessor

    if service is None:
        from telemetry.api import get_telemetry

        service = get_telemetry()
    provider = TracerProvider(
        resource=service.resource, sampler=ConsentSampler(service.is_enabled), shutdown_on_exit=False
    )
    provider.add_span_processor(RouteOnlySpanProcessor(service.span_processor, drop_client_errors=False))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        meter_provider=NoOpMeterProvider(),
        excluded_urls=",".join(excluded_urls) or None,
        exclude_spans=["receive", "send"],
    )
    return FastAPIInstrumentation(app, provider)
