"""The service's own HTTP handlers, timed into the same event log, with route templates and nothing raw.

``FastAPIInstrumentor`` records a SERVER span per request (named ``"POST /api/telemetry/events"``, with
``http.route``). It also records ``http.target``/``url.path``, ``url.query``, ``http.url``, the client's
address, the Host header and the User-Agent: raw values we promised not to collect (paths, IP addresses).
Rather than listing what to strip (a new semconv release would add another leak), spans keep only the
attributes in ``telemetry.http_spans.HTTP_ATTRIBUTES``: an allowlist, so the failure mode is "too little",
never "too much".
Intake (the OTLP receiver, the ``track_*`` endpoints) is not timed (see :data:`UNTIMED_PATHS`).
Spans of rejected requests (4xx) are dropped too (a refused request changes nothing stored), and so are
requests that matched no route (404 scans have no template).

The spans get their own tracer provider (same resource, same consent sampler) whose only processor hands
the filtered span to the service's pipeline entry (``service.span_processor``): same consent gate,
anonymizer and event log. Analytics read API response times (count, percentiles per ``http.route``) from
these spans.

The instrumentation's metrics (``http.server.duration`` and four more instruments) go to a no-op meter
provider: they repeat what the spans already hold, carry the Host header and client attributes, are
recorded even with consent off, and cost more CPU per request than the spans themselves.
"""

from __future__ import annotations

import logging
from typing import Final

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider

from processors.consent import ConsentSampler
from telemetry.http_spans import RouteOnlySpanProcessor
from telemetry.server.limits import OTLP_PATHS
from telemetry.service import TelemetryService

_logger = logging.getLogger(__name__)

#: The frontend's ``track_*`` endpoints: intake, like the OTLP receiver.
TRACKING_PATHS: Final = ("/api/telemetry/events", "/api/telemetry/performance", "/api/telemetry/errors")

#: Not timed: intake (the OTLP receiver and the frontend's ``track_*`` endpoints: a timing row per received
#: batch or event would double the log with telemetry measuring its own intake), and what is not an API call:
#: the pages, their static files and the dashboard's status poll (a row per page view would be the dashboard
#: measuring itself). The app's server skips the instrumented middleware altogether for these paths.
UNTIMED_PATHS: Final = (
    *sorted(OTLP_PATHS),
    *TRACKING_PATHS,
    "/api/telemetry/status",
    "/dashboard",
    "/favicon.ico",
)

#: ``excluded_urls`` patterns are searched in the full URL (``http://host:port/path``).
_UNTIMED_PATTERNS: Final = (
    *(f"//[^/]+{path}$" for path in UNTIMED_PATHS),
    "//[^/]+/$",  # the consent page
    "//[^/]+/static/",
)


class ServerInstrumentation:
    """The tracer provider of one app's HTTP instrumentation, feeding ``service``'s span pipeline."""

    def __init__(self, service: TelemetryService) -> None:
        self.span_filter = RouteOnlySpanProcessor(service.span_processor)
        self.tracer_provider = TracerProvider(
            resource=service.resource, sampler=ConsentSampler(service.is_enabled), shutdown_on_exit=False
        )
        self.tracer_provider.add_span_processor(self.span_filter)

    def instrument(self, app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.tracer_provider,
            meter_provider=NoOpMeterProvider(),
            excluded_urls=",".join(_UNTIMED_PATTERNS),
            exclude_spans=["receive", "send"],
        )

    def shutdown(self) -> None:
        try:
            self.tracer_provider.shutdown()
        except Exception:
            _logger.error("telemetry server: stopping the HTTP instrumentation failed")
