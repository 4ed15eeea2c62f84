"""``instrument_http_clients()``: outgoing ``requests``/``httpx`` calls (model downloads, hub calls) timed
by host and route shape, never by raw URL.

A CLIENT span keeps the method, status code, scheme, ``error.type``, ``server.address`` — the host if it
is on the allowlist, else ``"other"`` — and ``url.template``, the path reduced to its shape: segments from
a small API vocabulary stay, every other segment becomes ``{}``::

    https://huggingface.co/api/models/alice/private-model/revision/main?token=...
    -> GET huggingface.co/api/models/{}/{}/revision/main

User names, repository names, file names, query strings and other hosts never reach the event log. The
span's exception events and status message are dropped too (a connection error's message quotes the
URL). The instrumentations' metrics go to a no-op meter. Needs the ``http-clients`` extra.

>>> handle = telemetry.instrument_http_clients()                       # Hugging Face hosts by default
>>> handle = telemetry.instrument_http_clients(allowed_hosts=["api.example.com"])
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from telemetry.service import TelemetryService

_logger = logging.getLogger(__name__)

#: Hosts shown by name; an entry starting with "." also allows its subdomains.
DEFAULT_ALLOWED_HOSTS: Final = ("huggingface.co", ".huggingface.co", "hf.co", ".hf.co")

#: Path segments kept as they are (API vocabulary); any other segment becomes ``{}``.
DEFAULT_KNOWN_SEGMENTS: Final = frozenset(
    {
        "api", "models", "datasets", "spaces", "resolve", "revision", "tree", "blob", "raw", "main",
        "info", "paths-info", "preupload", "commit", "whoami", "whoami-v2", "files", "download", "upload",
        "search", "tags", "refs", "discussions", "collections", "inference", "chat", "completions",
        "embeddings", "generate", "health", "status", "v1", "v2", "v3",
    }
)  # fmt: skip

#: Attributes a client span keeps as they are; server.address and url.template are computed.
CLIENT_ATTRIBUTES: Final = frozenset(
    {
        "http.method",
        "http.request.method",
        "http.status_code",
        "http.response.status_code",
        "url.scheme",
        "http.scheme",
        "network.protocol.version",
        "error.type",
    }
)


def host_shown(host: str | None, allowed: Iterable[str]) -> str:
    """``host`` if the allowlist names it (or a parent domain written as ``.example.com``), else ``other``."""
    host = (host or "").lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower()
        if host == entry or (entry.startswith(".") and host.endswith(entry)):
            return host
    return "other"


def route_shape(path: str, known: frozenset[str]) -> str:
    """``/api/models/alice/x/revision/main`` -> ``/api/models/{}/{}/revision/main`` (with the default vocabulary)."""
    segments = [s for s in path.split("/") if s]
    return "/" + "/".join(s if s.lower() in known else "{}" for s in segments)


class HttpClientInstrumentation:
    """What :func:`instrument_http_clients` installed; :meth:`uninstrument` takes it off again."""

    def __init__(self, instrumentors: list[Any], tracer_provider: TracerProvider) -> None:
        self.instrumentors = instrumentors
        self.tracer_provider = tracer_provider

    def uninstrument(self) -> None:
        for instrumentor in self.instrumentors:
            instrumentor.uninstrument()
        self.tracer_provider.shutdown()


def _client_span_processor(
    inner: Any, allowed: tuple[str, ...], known: frozenset[str], excluded: tuple[re.Pattern[str], ...]
) -> Any:
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
    from opentelemetry.trace import SpanKind, Status

    class ShapeOnlySpanProcessor(SpanProcessor):
        def __init__(self) -> None:
            self.failures = 0

        def on_end(self, span: ReadableSpan) -> None:
            try:
                attributes = span.attributes or {}
                url = attributes.get("url.full") or attributes.get("http.url")
                if span.kind is not SpanKind.CLIENT or not isinstance(url, str):
                    return
                if any(pattern.search(url) for pattern in excluded):
                    return
                parts = urlsplit(url)
                host, shape = host_shown(parts.hostname, allowed), route_shape(parts.path, known)
                kept: dict[str, Any] = {k: v for k, v in attributes.items() if k in CLIENT_ATTRIBUTES}
                kept["server.address"] = host
                kept["url.template"] = shape
                method = kept.get("http.request.method", kept.get("http.method", "HTTP"))
                clean = ReadableSpan(
                    name=f"{method} {host}{shape}",
                    context=span.context,
                    parent=span.parent,
                    resource=span.resource,
                    attributes=kept,
                    events=(),  # exception events quote the raw URL
                    links=span.links,
                    kind=span.kind,
                    status=Status(span.status.status_code),  # without its description, for the same reason
                    start_time=span.start_time,
                    end_time=span.end_time,
                    instrumentation_scope=span.instrumentation_scope,
                )
                inner.on_end(clean)
            except Exception:
                self.failures += 1
                if self.failures == 1:
                    _logger.error("telemetry: filtering an HTTP client span failed; further failures are counted")

    return ShapeOnlySpanProcessor()


def instrument_http_clients(
    *,
    service: TelemetryService | None = None,
    allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS,
    known_segments: Iterable[str] = DEFAULT_KNOWN_SEGMENTS,
    excluded_urls: Iterable[str] = (),
) -> HttpClientInstrumentation:
    """Time outgoing ``requests`` and ``httpx`` calls (whichever is installed) by host and route shape.

    ``excluded_urls`` are regular expressions searched in the full URL; matching calls are not timed.
    Calls made before consent is given are not recorded. ``service`` defaults to the process-wide one.
    """
    import importlib.util

    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from processors.consent import ConsentSampler

    if service is None:
        from telemetry.api import get_telemetry

        service = get_telemetry()
    provider = TracerProvider(
        resource=service.resource, sampler=ConsentSampler(service.is_enabled), shutdown_on_exit=False
    )
    allowed = tuple(allowed_hosts)
    known = frozenset(s.lower() for s in known_segments)
    excluded = tuple(re.compile(pattern) for pattern in excluded_urls)
    provider.add_span_processor(_client_span_processor(service.span_processor, allowed, known, excluded))
    options: dict[str, Any] = {"tracer_provider": provider, "meter_provider": NoOpMeterProvider()}
    instrumentors: list[Any] = []
    if importlib.util.find_spec("requests") is not None:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        RequestsInstrumentor().instrument(**options)
        instrumentors.append(RequestsInstrumentor())
    if importlib.util.find_spec("httpx") is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument(**options)
        instrumentors.append(HTTPXClientInstrumentor())
    return HttpClientInstrumentation(instrumentors, provider)
