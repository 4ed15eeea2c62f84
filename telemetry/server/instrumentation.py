"""The service's own HTTP handlers, timed into the same event log, with route templates and nothing raw.

``FastAPIInstrumentor`` records a SERVER span per request (named ``"POST /api/telemetry/events"``, with
``http.route``). It also records ``http.target``/``url.path``, ``url.query``, ``http.url``, the client's
address, the Host header and the User-Agent: raw values we promised not to collect (paths, IP addresses).
Rather than listing what to strip (a new semconv release would add another leak), spans keep only the
attributes in :data:`HTTP_ATTRIBUTES`: an allowlist, so the failure mode is "too little", never "too much".
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
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind

from exporters._failure_log import FailureLog
from processors.consent import ConsentSampler
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

#: The only attributes an HTTP span keeps: the route template, method, status, scheme, protocol.
HTTP_ATTRIBUTES: Final = frozenset(
    {
        "http.route",
        "http.method",
        "http.request.method",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "error.type",
    }
)


def _is_client_error(attributes: Mapping[str, Any]) -> bool:
    status = attributes.get("http.status_code", attributes.get("http.response.status_code"))
    return isinstance(status, int) and 400 <= status < 500


class RouteOnlySpanProcessor(SpanProcessor):
    """Rebuilds each finished SERVER span with allowlisted attributes and hands it to ``inner``.

    Runs on the request's thread: a dict comprehension and one ``ReadableSpan``; never raises. It does
    not own ``inner`` (the service's pipeline entry) and never shuts it down.
    """

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner
        self._failures = FailureLog(_logger)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        try:
            attributes = span.attributes or {}
            if span.kind is not SpanKind.SERVER or "http.route" not in attributes or _is_client_error(attributes):
                return
            clean = ReadableSpan(
                name=span.name,
                context=span.context,
                parent=span.parent,
                resource=span.resource,
                attributes={k: v for k, v in attributes.items() if k in HTTP_ATTRIBUTES},
                events=span.events,
                links=span.links,
                kind=span.kind,
                status=span.status,
                start_time=span.start_time,
                end_time=span.end_time,
                instrumentation_scope=span.instrumentation_scope,
            )
            self._inner.on_end(clean)
        except Exception:
            self._failures.record("filter", "telemetry server: filtering an HTTP span failed; further ones are counted")

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


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
