"""OpenTelemetry exporters that append to the DuckDB event log.

``DuckDBSpanExporter.export`` is called by a batch processor on its worker thread with a batch of
finished (already anonymized) spans. It turns the batch into rows (``exporters.eventlog.arrow``) and
appends them in one spool frame or one transaction (``EventLog.append_spooled``), so a span is never stored
without its events. Like the SDK's own
exporters it never raises: a locked or unwritable database, a damaged file or a bug in conversion returns
``FAILURE``, is counted, logged once per kind of failure (without values: DuckDB messages may quote
them), and reported to ``on_error``.

``DuckDBMetricExporter`` does the same for metric data points (gauge, sum, histogram). It prefers DELTA
temporality for counters and histograms, so every stored point is the change in its interval and sums
over rows are meaningful without differencing.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ExponentialHistogram,
    Gauge,
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    Sum,
)
from opentelemetry.sdk.metrics.export import Histogram as HistogramData
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from exporters._failure_log import FailureLog
from exporters.eventlog import EventLog, schema
from exporters.eventlog.arrow import METRIC_POINTS_ARROW, ResourceCache, build_table, spans_to_rows, to_json
from exporters.eventlog.errors import EventLogError

logger = logging.getLogger("exporters.duckdb")

ErrorCallback = Callable[[Exception], None]

#: DELTA where a per-interval value is what analytics sum; up-down counters stay cumulative (a level).
DELTA_TEMPORALITY: dict[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


class _FailureReporter:
    """Counts failures and logs the first of each kind; never lets reporting itself raise."""

    def __init__(self, what: str, on_error: ErrorCallback | None) -> None:
        self._what = what
        self._on_error = on_error
        self._failures = FailureLog(logger)

    def report(self, exc: Exception) -> None:
        kind = type(exc).__name__
        # Our own errors carry value-free messages; anything else is named by type only.
        detail = str(exc) if isinstance(exc, EventLogError | ValueError) else kind
        message = "Exporting %s to the event log failed (%s); further failures of this kind are counted"
        if not self._failures.record(kind, message, self._what, detail):
            logger.debug("Exporting %s to the event log failed again (%s)", self._what, kind)
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:  # a broken callback must not break export
                logger.debug("on_error callback raised", exc_info=False)


class DuckDBSpanExporter(SpanExporter):
    """Stores finished spans and their events in an ``EventLog``.

    Example::

        provider.add_span_processor(BatchSpanProcessor(DuckDBSpanExporter(EventLog(path))))
    """

    def __init__(self, log: EventLog, *, on_error: ErrorCallback | None = None) -> None:
        if not isinstance(log, EventLog):
            raise ValueError("log must be an EventLog")
        self._log = log
        self._resources = ResourceCache()
        self._failures = _FailureReporter("spans", on_error)
        self._shutdown = False
        self._count_lock = threading.Lock()
        self.exported_spans = 0
        self.failed_spans = 0
        self.failed_batches = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Called on the batch processor's thread; blocks at most the log's ``lock_timeout_s``."""
        if self._shutdown:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            span_rows, event_rows, resource_rows = spans_to_rows(spans, self._resources)
            # Through the spool when the log has one (plain rows; Arrow is built once per merge).
            self._log.append_spooled(
                {schema.RESOURCES: resource_rows, schema.SPANS: span_rows, schema.SPAN_EVENTS: event_rows}
            )
        except Exception as exc:
            with self._count_lock:
                self.failed_spans += len(spans)
                self.failed_batches += 1
            self._failures.report(exc)
            return SpanExportResult.FAILURE
        finally:
            detach(token)
        with self._count_lock:
            self.exported_spans += len(spans)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export is durable when it returns; this also merges a spooled one into DuckDB."""
        return self._log.merge_due_in() is None or self._log.merge()

    def shutdown(self) -> None:
        """Further exports fail; what is spooled is merged; the ``EventLog`` belongs to the caller and
        stays open."""
        self._shutdown = True
        if self._log.merge_due_in() is not None:
            self._log.merge()


class DuckDBMetricExporter(MetricExporter):
    """Stores metric data points (gauge, sum, histogram, exponential histogram summary) in an ``EventLog``.

    Example::

        reader = PeriodicExportingMetricReader(DuckDBMetricExporter(log), export_interval_millis=60_000)
    """

    def __init__(
        self,
        log: EventLog,
        *,
        on_error: ErrorCallback | None = None,
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
        preferred_aggregation: dict[type, Aggregation] | None = None,
    ) -> None:
        if not isinstance(log, EventLog):
            raise ValueError("log must be an EventLog")
        super().__init__(
            preferred_temporality=dict(DELTA_TEMPORALITY if preferred_temporality is None else preferred_temporality),
            preferred_aggregation=preferred_aggregation,
        )
        self._log = log
        self._resources = ResourceCache()
        self._failures = _FailureReporter("metrics", on_error)
        self._shutdown = False
        self.exported_points = 0
        self.failed_points = 0
        self.failed_batches = 0

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if self._shutdown:
            return MetricExportResult.FAILURE
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        points = 0
        try:
            points = _count_points(metrics_data)
            table = metrics_to_arrow(metrics_data, self._resources)
            self._log.append(schema.METRIC_POINTS, table)
        except Exception as exc:
            self.failed_points += points
            self.failed_batches += 1
            self._failures.report(exc)
            return MetricExportResult.FAILURE
        finally:
            detach(token)
        self.exported_points += points
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._shutdown = True


def _count_points(metrics_data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for resource_metrics in metrics_data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def metrics_to_arrow(metrics_data: MetricsData, resources: ResourceCache) -> pa.Table:
    """One row per data point, columns in ``schema.METRIC_POINT_COLUMNS`` order. Non-finite values are
    stored as NULL (the OTLP export must not contain NaN or Infinity)."""
    rows: list[tuple[Any, ...]] = []
    for resource_metrics in metrics_data.resource_metrics:
        _, resource_json, session = resources.get(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            scope_name = scope.name if scope is not None else None
            scope_version = scope.version if scope is not None else None
            for metric in scope_metrics.metrics:
                data = metric.data
                head = (metric.name, metric.description or None, metric.unit or None)
                tail = (resource_json, scope_name, scope_version, session)
                if isinstance(data, Gauge | Sum):
                    kind = "gauge" if isinstance(data, Gauge) else "sum"
                    monotonic = data.is_monotonic if isinstance(data, Sum) else None
                    temporality = data.aggregation_temporality.name if isinstance(data, Sum) else None
                    for point in data.data_points:
                        rows.append(
                            (*head, kind, monotonic, temporality, point.start_time_unix_nano,
                             point.time_unix_nano, _finite(point.value), None, None, None, None, None,
                             None, to_json(dict(point.attributes or {})), *tail)
                        )  # fmt: skip
                elif isinstance(data, HistogramData | ExponentialHistogram):
                    # Exponential histograms keep count/sum/min/max; their buckets have no column.
                    kind = "histogram" if isinstance(data, HistogramData) else "exponential_histogram"
                    temporality = data.aggregation_temporality.name
                    for hp in data.data_points:
                        buckets: list[int] | None = None
                        bounds: list[float] | None = None
                        if isinstance(hp, HistogramDataPoint):
                            buckets = list(hp.bucket_counts)
                            bounds = [float(b) for b in hp.explicit_bounds]
                        rows.append(
                            (*head, kind, None, temporality, hp.start_time_unix_nano, hp.time_unix_nano,
                             None, hp.count, _finite(hp.sum), _finite(hp.min), _finite(hp.max),
                             buckets, bounds, to_json(dict(hp.attributes or {})), *tail)
                        )  # fmt: skip
    columns: list[list[Any]] = (
        [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in METRIC_POINTS_ARROW]
    )
    return build_table(columns, METRIC_POINTS_ARROW)
