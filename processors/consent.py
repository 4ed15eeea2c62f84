"""The consent gate: nothing is recorded, processed or exported while the user has not agreed.

Two checks, because a span lives for a while:

* :class:`ConsentSampler` decides when a span *starts*. With consent off it answers ``DROP``, so the SDK
  hands out a non-recording span and the instrumented code pays next to nothing.
* :class:`ConsentGateProcessor` decides when a span *ends*. A span that started while consent was on and
  ends after the user revoked it is dropped here, before it reaches the queue.

:class:`ConsentGatedMetricExporter` is the same gate for metrics, checked at export time; given the moment
consent was withdrawn (perhaps by another process, not yet noticed here) it also leaves out every data
point taken at or after it.

Consent is read through a zero-argument callable handed in by the owner (the telemetry service), so this
module knows nothing about where consent is stored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState, get_current_span
from opentelemetry.util.types import Attributes

ConsentCheck = Callable[[], bool]

_DROP = SamplingResult(Decision.DROP)


class ConsentSampler(Sampler):
    """Samples every span while consent is on and none while it is off.

    Called synchronously when a span starts, on the thread that starts it: it only reads a flag.
    A child of a recorded parent is recorded too, so traces stay whole.
    """

    def __init__(self, is_enabled: ConsentCheck) -> None:
        self._is_enabled = is_enabled

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if not self._is_enabled():
            return _DROP
        parent_state = get_current_span(parent_context).get_span_context().trace_state
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent_state)

    def get_description(self) -> str:
        return "ConsentSampler"


class ConsentGateProcessor(SpanProcessor):
    """Forwards a finished span to ``inner`` only if consent is still on when it ends.

    ``on_end`` runs on the thread that ends the span: one flag read, then the inner processor (which is
    expected to be the cheap hand-off to the export thread).
    """

    def __init__(self, is_enabled: ConsentCheck, inner: SpanProcessor) -> None:
        self._is_enabled = is_enabled
        self._inner = inner
        self.dropped_without_consent = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # Nothing to do at start: the sampler already made the start-time decision.
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self._is_enabled():
            self._inner.on_end(span)
        else:
            self.dropped_without_consent += 1

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class ConsentGatedMetricExporter(MetricExporter):
    """Exports metrics only while consent is on; otherwise reports success and stores nothing.

    Success, not failure: the reader must not retry or log data the user declined to share.
    """

    def __init__(
        self,
        is_enabled: ConsentCheck,
        inner: MetricExporter,
        withdrawn_at_ns: Callable[[], int | None] | None = None,
    ) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._is_enabled = is_enabled
        self._inner = inner
        self._withdrawn_at_ns = withdrawn_at_ns
        self.dropped_after_withdrawal = 0

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        if not self._is_enabled():
            return MetricExportResult.SUCCESS
        cutoff = self._withdrawn_at_ns() if self._withdrawn_at_ns is not None else None
        if cutoff is not None:
            metrics_data = self._before(metrics_data, cutoff)
            if not metrics_data.resource_metrics:
                return MetricExportResult.SUCCESS
        return self._inner.export(metrics_data, timeout_millis=timeout_millis)

    def _before(self, data: MetricsData, cutoff: int) -> MetricsData:
        """``data`` without the points taken at or after ``cutoff`` (empty containers left out)."""
        resources = []
        for rm in data.resource_metrics:
            scopes = []
            for sm in rm.scope_metrics:
                metrics = []
                for metric in sm.metrics:
                    points = metric.data.data_points
                    kept: Any = [p for p in points if p.time_unix_nano < cutoff]  # the same point type as given
                    self.dropped_after_withdrawal += len(points) - len(kept)
                    if kept:
                        inner: Any = dataclasses.replace(metric.data, data_points=kept)
                        metrics.append(dataclasses.replace(metric, data=inner))
                if metrics:
                    scopes.append(dataclasses.replace(sm, metrics=metrics))
            if scopes:
                resources.append(dataclasses.replace(rm, scope_metrics=scopes))
        return MetricsData(resource_metrics=resources)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis)
