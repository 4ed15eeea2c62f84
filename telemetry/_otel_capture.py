"""The OpenTelemetry road into a test's captured service.

OTel's global tracer provider can be set once per process, and a ``ProxyTracer`` obtained before that
(``tracer = trace.get_tracer(__name__)`` at an app module's import) binds to the first provider it sees,
forever. So a test cannot swap providers per test. Instead one *forwarding* processor is attached once:
to the app's own SDK provider if the app installed one, else to a provider we install as the global. It
hands each span to whichever captured service is current, and drops it when none is.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

_lock = threading.Lock()
_current: TelemetryService | None = None
_attached = False


def _forwarding_processor() -> Any:
    from opentelemetry.sdk.trace import SpanProcessor

    class ForwardToCaptured(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            service = _current
            if service is not None:
                service.span_processor.on_start(span, parent_context)

        def on_end(self, span: Any) -> None:
            service = _current
            if service is not None:
                service.span_processor.on_end(span)

    return ForwardToCaptured()


def _attach_once(service: TelemetryService) -> None:
    global _attached
    if _attached:
        return
    from opentelemetry import trace as trace_api
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON

    current = trace_api.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(_forwarding_processor())
    else:
        provider = TracerProvider(resource=service.resource, sampler=ALWAYS_ON, shutdown_on_exit=False)
        provider.add_span_processor(_forwarding_processor())
        trace_api.set_tracer_provider(provider)
    _attached = True


def route_to(service: TelemetryService | None) -> TelemetryService | None:
    """Send spans from the OTel API to ``service`` (``None``: to nowhere); returns the previous target."""
    global _current
    with _lock:
        if service is not None:
            _attach_once(service)
        previous, _current = _current, service
    return previous
