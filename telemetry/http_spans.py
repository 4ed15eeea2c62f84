"""HTTP server spans reduced to what may be stored: route template, method, status, scheme, protocol.

An allowlist, not a list of things to strip: raw paths (``http.target``, ``url.path``, ``http.url``),
query strings, client addresses, Host and User-Agent are never kept, and a semconv release that adds
another raw field adds nothing. Shared by the service's own instrumentation and ``instrument_fastapi``;
imports only the OpenTelemetry SDK, so an app that instruments itself loads nothing else through it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind

from exporters._failure_log import FailureLog

_logger = logging.getLogger(__name__)

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

    def __init__(self, inner: SpanProcessor, *, drop_client_errors: bool = True) -> None:
        self._inner = inner
        self._drop_client_errors = drop_client_errors  # the service's own 4xx change nothing stored
        self._failures = FailureLog(_logger)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        try:
            attributes = span.attributes or {}
            if span.kind is not SpanKind.SERVER or "http.route" not in attributes:
                return  # no template (a 404 scan): nothing that may be stored names the request
            if self._drop_client_errors and _is_client_error(attributes):
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
            self._failures.record("filter", "telemetry: filtering an HTTP span failed; further ones are counted")

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
