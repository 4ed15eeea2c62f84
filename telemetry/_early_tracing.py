"""OpenTelemetry spans started between ``enable()`` and the pipeline being ready: held, then recorded.

``enable()`` returns at once and the pipeline (DuckDB, Arrow, the anonymizer: ~0.2 s of imports) is built on
the telemetry thread. ``track_*`` calls made meanwhile are held by :mod:`telemetry._held`; plain OTel spans
would be lost, because until a tracer provider is installed the OTel API hands out non-recording spans. So
``enable()`` installs the pipeline's tracer provider first (~40 ms: the SDK, the resource, the consent
sampler), with :class:`HeldSpans` as its processor: finished spans wait there (bounded) until the pipeline
passes its consent gate in (:meth:`HeldSpans.release_into`), which takes them in order and every span after.

Example::

    early = install_early_tracing(settings, session_id, consent_is_enabled, limit=settings.queue_size)
    ...
    early.held.release_into(pipeline_gate)  # the pipeline adopts early.provider as its own
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from processors.consent import ConsentSampler
from telemetry.settings import TelemetrySettings
from telemetry.system import build_resource

_logger = logging.getLogger(__name__)


class HeldSpans(SpanProcessor):
    """Holds finished spans (at most ``limit``, later ones counted in ``dropped``) until a target processor
    is released into; from then on hands every span to it."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._held: list[ReadableSpan] = []
        self._limit = limit
        self._target: SpanProcessor | None = None
        self.dropped = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        target = self._target
        if target is not None:
            target.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        target = self._target  # once released (nearly always), no lock on the app's thread
        if target is None:
            with self._lock:
                target = self._target
                if target is None:
                    if len(self._held) < self._limit:
                        self._held.append(span)
                        return
                    self.dropped += 1
                    if self.dropped == 1:  # logged once; stats() counts every one
                        _logger.warning("telemetry: too many spans before the pipeline was ready; dropped and counted")
                    return
        target.on_end(span)

    def release_into(self, target: SpanProcessor) -> None:
        """Hand the held spans to ``target`` in the order they ended, and every later span."""
        with self._lock:
            self._target = target
            held, self._held = self._held, []
        for span in held:
            target.on_end(span)

    def shutdown(self) -> None:
        target = self._target
        if target is not None:
            target.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        target = self._target
        return True if target is None else target.force_flush(timeout_millis)


@dataclass(frozen=True)
class EarlyTracing:
    """What :func:`install_early_tracing` set up: ``provider`` is None when the app had installed its own SDK
    provider (``held`` then sits on the app's)."""

    resource: Resource
    provider: TracerProvider | None
    held: HeldSpans


def install_early_tracing(
    settings: TelemetrySettings, session_id: str, is_enabled: Callable[[], bool], *, limit: int
) -> EarlyTracing:
    """Install the global tracer provider the pipeline will adopt (or join the app's own SDK provider)."""
    resource = build_resource(settings.app_name, settings.app_version, session_id)
    held = HeldSpans(limit)
    current: Any = trace_api.get_tracer_provider()
    if isinstance(current, TracerProvider):  # the app's own: our spans go through its provider
        current.add_span_processor(held)
        return EarlyTracing(resource, None, held)
    provider = TracerProvider(resource=resource, sampler=ConsentSampler(is_enabled), shutdown_on_exit=False)
    provider.add_span_processor(held)
    trace_api.set_tracer_provider(provider)
    return EarlyTracing(resource, provider, held)
