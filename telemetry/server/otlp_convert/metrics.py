"""``ExportMetricsServiceRequest`` -> ``MetricsData``: exactly what a metric reader hands an exporter.

Gauges, sums, histograms and exponential histograms are taken; summaries are rejected (the SDK has no
summary type). Bad data points are rejected one by one (see :mod:`.common`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)

from telemetry.server.otlp_convert.common import (
    MAX_BUCKETS,
    MAX_NAME,
    Converted,
    Invalid,
    attributes_of,
    checked_text,
    guarded,
    resource_of,
    scope_of,
)


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise Invalid(f"{what} is NaN or infinite")
    return value


def _number_point(p: metrics_pb2.NumberDataPoint) -> NumberDataPoint:
    kind = p.WhichOneof("value")
    value: int | float = p.as_int if kind == "as_int" else _finite(p.as_double, "a value")
    return NumberDataPoint(attributes_of(p.attributes), p.start_time_unix_nano, p.time_unix_nano, value)


def _histogram_point(p: metrics_pb2.HistogramDataPoint) -> HistogramDataPoint:
    bounds = [_finite(b, "a bucket bound") for b in p.explicit_bounds]
    if len(p.bucket_counts) > MAX_BUCKETS or (p.bucket_counts and len(p.bucket_counts) != len(bounds) + 1):
        raise Invalid("bucket_counts must have one more entry than explicit_bounds")
    return HistogramDataPoint(
        attributes_of(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count,
        _finite(p.sum, "a sum") if p.HasField("sum") else 0.0, list(p.bucket_counts), bounds,
        _finite(p.min, "a min") if p.HasField("min") else math.inf,
        _finite(p.max, "a max") if p.HasField("max") else -math.inf,
    )  # fmt: skip


def _exp_point(p: metrics_pb2.ExponentialHistogramDataPoint) -> ExponentialHistogramDataPoint:
    if len(p.positive.bucket_counts) > MAX_BUCKETS or len(p.negative.bucket_counts) > MAX_BUCKETS:
        raise Invalid("too many buckets")
    return ExponentialHistogramDataPoint(
        attributes_of(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count,
        _finite(p.sum, "a sum") if p.HasField("sum") else 0.0, p.scale, p.zero_count,
        Buckets(p.positive.offset, list(p.positive.bucket_counts)),
        Buckets(p.negative.offset, list(p.negative.bucket_counts)), p.flags,
        _finite(p.min, "a min") if p.HasField("min") else math.inf,
        _finite(p.max, "a max") if p.HasField("max") else -math.inf,
    )  # fmt: skip


def _points(out: Converted, points: Iterable[Any], build: Callable[[Any], Any]) -> list[Any]:
    kept = []
    for point in points:
        built = guarded(out, 1, partial(build, point))
        if built is not None:
            kept.append(built)
    return kept


def _temporality(value: int) -> AggregationTemporality:
    return AggregationTemporality(value) if value in (1, 2) else AggregationTemporality.CUMULATIVE


def _metric(out: Converted, metric: metrics_pb2.Metric) -> Metric | None:
    # Name, description and unit first: a failure here rejects the metric's points exactly once.
    name, description, unit = (
        checked_text(metric.name, 255),
        checked_text(metric.description, MAX_NAME),
        checked_text(metric.unit, 64),
    )
    if not name:
        raise Invalid("a metric needs a name")
    kind = metric.WhichOneof("data")
    data: Any
    if kind == "gauge":
        data = Gauge(_points(out, metric.gauge.data_points, _number_point))
    elif kind == "sum":
        s = metric.sum
        data = Sum(
            _points(out, s.data_points, _number_point),
            _temporality(s.aggregation_temporality),
            s.is_monotonic,
        )
    elif kind == "histogram":
        h = metric.histogram
        data = Histogram(_points(out, h.data_points, _histogram_point), _temporality(h.aggregation_temporality))
    elif kind == "exponential_histogram":
        e = metric.exponential_histogram
        data = ExponentialHistogram(_points(out, e.data_points, _exp_point), _temporality(e.aggregation_temporality))
    else:
        if kind == "summary":
            out.reject(len(metric.summary.data_points), "summary metrics are not supported")
        return None
    if not data.data_points:
        return None
    return Metric(name, description, unit, data)


def convert_metrics(request: Any) -> Converted:
    """``ExportMetricsServiceRequest`` -> one ``MetricsData`` in ``items`` (or none), bad points rejected."""
    out = Converted()
    resource_metrics: list[ResourceMetrics] = []
    for rm in request.resource_metrics:
        count = sum(_point_count(m) for sm in rm.scope_metrics for m in sm.metrics)
        resource = guarded(out, count, partial(resource_of, rm.resource, rm.schema_url))
        if resource is None:
            continue
        scopes: list[ScopeMetrics] = []
        for sm in rm.scope_metrics:
            scope = guarded(out, sum(map(_point_count, sm.metrics)), partial(scope_of, sm.scope, sm.schema_url))
            if scope is None:
                continue
            metrics = [m for m in (_guarded_metric(out, metric) for metric in sm.metrics) if m is not None]
            if metrics:
                scopes.append(ScopeMetrics(scope, metrics, sm.schema_url))
        if scopes:
            resource_metrics.append(ResourceMetrics(resource, scopes, rm.schema_url))
    if resource_metrics:
        out.items.append(MetricsData(resource_metrics))
    return out


def _guarded_metric(out: Converted, metric: metrics_pb2.Metric) -> Metric | None:
    result: Metric | None = guarded(out, _point_count(metric), partial(_metric, out, metric))
    return result


def _point_count(metric: metrics_pb2.Metric) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0
