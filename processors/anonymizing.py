"""OpenTelemetry SDK wrappers that put the anonymizer in front of whatever stores or sends data.

* :class:`AnonymizingSpanProcessor` wraps a ``SpanProcessor``: ``on_end`` rebuilds the span scrubbed and
  hands the copy to the inner processor. It runs on the thread that ends the span.
  The service puts it behind its background queue, so that thread is the export worker, never the app's.
* :class:`AnonymizingMetricExporter` wraps a ``MetricExporter``: the choke point of every metric, whichever
  road it took (``track_performance``'s histograms, the global meter, the OTLP receiver). Metric names,
  units and descriptions, data point and exemplar attributes, resource and scope are all scrubbed: apps and
  OTLP senders choose names too.

Both fail closed: if scrubbing raises, the span (or metric) is dropped and counted, never passed on
raw. Errors are logged once per wrapper, without any attribute value. Nothing here raises into the app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import (
    ExponentialHistogram,
    Gauge,
    Histogram,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from processors._failure_log import FailureLog

from .anonymizer import Anonymizer

_log = logging.getLogger(__name__)

OnDrop = Callable[[], None]


class _DropCounter:
    """Counts what was dropped, calls the owner's hook, and logs the first failure only."""

    def __init__(self, what: str, on_drop: OnDrop | None) -> None:
        self._what = what
        self._on_drop = on_drop
        self._lock = threading.Lock()
        # One kind for both faults: one log line per wrapper, every later fault only counted.
        self._failures = FailureLog(_log)
        self.dropped = 0

    def drop(self, exc: BaseException, n: int = 1) -> None:
        with self._lock:
            self.dropped += n
        # The type only: the message could quote the data that failed to scrub.
        self._failures.record(
            "failure",
            "Anonymizer failed (%s); the %s was dropped, not stored. Further failures are counted silently.",
            type(exc).__name__,
            self._what,
        )
        if self._on_drop is not None:
            for _ in range(n):
                try:
                    self._on_drop()
                except Exception:  # the hook belongs to the app; it must not break export
                    pass

    def inner_failed(self, exc: BaseException, where: str) -> None:
        self._failures.record("failure", "Wrapped %s raised %s in %s; ignored.", self._what, type(exc).__name__, where)


class AnonymizingSpanProcessor(SpanProcessor):
    """Scrubs each finished span before the wrapped processor sees it.

    ``on_end`` is called synchronously on the thread that ends the span: it must not raise, so every
    failure is caught; a span that cannot be scrubbed is dropped and counted (``dropped``, ``on_drop``).
    """

    def __init__(self, anonymizer: Anonymizer, inner: SpanProcessor, on_drop: OnDrop | None = None) -> None:
        if not isinstance(anonymizer, Anonymizer):
            raise TypeError("anonymizer must be an Anonymizer")
        if not isinstance(inner, SpanProcessor):
            raise TypeError("inner must be an opentelemetry SpanProcessor")
        self._anonymizer = anonymizer
        self._inner = inner
        self._drops = _DropCounter("span", on_drop)

    @property
    def dropped(self) -> int:
        """Spans dropped because scrubbing failed."""
        return self._drops.dropped

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            self._inner.on_start(span, parent_context=parent_context)
        except Exception as exc:
            self._drops.inner_failed(exc, "on_start")

    def on_end(self, span: ReadableSpan) -> None:
        try:
            clean = self._anonymizer.scrub_span(span)
        except Exception as exc:
            self._drops.drop(exc)
            return
        try:
            self._inner.on_end(clean)
        except Exception as exc:
            self._drops.inner_failed(exc, "on_end")

    def shutdown(self) -> None:
        try:
            self._inner.shutdown()
        except Exception as exc:
            self._drops.inner_failed(exc, "shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return self._inner.force_flush(timeout_millis)
        except Exception as exc:
            self._drops.inner_failed(exc, "force_flush")
            return False


class AnonymizingMetricExporter(MetricExporter):
    """Scrubs metric attributes before the wrapped exporter sees them; a metric that fails is dropped."""

    def __init__(self, anonymizer: Anonymizer, inner: MetricExporter, on_drop: OnDrop | None = None) -> None:
        if not isinstance(anonymizer, Anonymizer):
            raise TypeError("anonymizer must be an Anonymizer")
        if not isinstance(inner, MetricExporter):
            raise TypeError("inner must be an opentelemetry MetricExporter")
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._anonymizer = anonymizer
        self._inner = inner
        self._drops = _DropCounter("metric", on_drop)

    @property
    def dropped(self) -> int:
        """Metrics (all points of one instrument in one export) dropped because scrubbing failed."""
        return self._drops.dropped

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        try:
            clean = MetricsData(resource_metrics=[self._resource_metrics(rm) for rm in metrics_data.resource_metrics])
        except Exception as exc:  # the envelope itself failed: nothing in it can be trusted
            self._drops.drop(exc, _count_metrics(metrics_data))
            return MetricExportResult.FAILURE
        return self._inner.export(clean, timeout_millis=timeout_millis, **kwargs)

    def _resource_metrics(self, rm: ResourceMetrics) -> ResourceMetrics:
        resource, _ = self._anonymizer.scrub_resource(rm.resource)
        text = self._anonymizer.scrub_metric_text
        scopes = [
            ScopeMetrics(
                scope=self._anonymizer.scrub_scope(sm.scope),
                metrics=self._metrics(sm.metrics),
                schema_url=text(sm.schema_url) if sm.schema_url else sm.schema_url,
            )
            for sm in rm.scope_metrics
        ]
        return ResourceMetrics(
            resource=resource,
            scope_metrics=scopes,
            schema_url=text(rm.schema_url) if rm.schema_url else rm.schema_url,
        )

    def _metrics(self, metrics: Sequence[Metric]) -> list[Metric]:
        out = []
        text = self._anonymizer.scrub_metric_text
        for metric in metrics:
            try:
                out.append(
                    replace(
                        metric,
                        name=text(metric.name),
                        description=text(metric.description) if metric.description else metric.description,
                        unit=text(metric.unit) if metric.unit else metric.unit,
                        data=self._data(metric.data),
                    )
                )
            except Exception as exc:
                self._drops.drop(exc)
        return out

    def _data(self, data: Any) -> Any:
        if not isinstance(data, (Gauge, Sum, Histogram, ExponentialHistogram)):
            raise TypeError(f"unknown metric data {type(data).__name__}")  # unknown shape: fail closed
        points = [
            replace(p, attributes=self._attrs(p.attributes), exemplars=self._exemplars(p)) for p in data.data_points
        ]
        return replace(data, data_points=points)  # type: ignore[arg-type]

    def _exemplars(self, point: Any) -> list[Any]:
        return [replace(e, filtered_attributes=self._attrs(e.filtered_attributes)) for e in point.exemplars or ()]

    def _attrs(self, attrs: Any) -> dict[str, Any]:
        clean, _ = self._anonymizer.scrub_attributes(attrs or {})
        return clean

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def _count_metrics(data: MetricsData) -> int:
    try:
        return sum(len(sm.metrics) for rm in data.resource_metrics for sm in rm.scope_metrics) or 1
    except Exception:
        return 1
