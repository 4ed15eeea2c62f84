"""Reading the event log's metric points as an outbox: points after a cursor, back into SDK metrics, then
one OTLP protobuf request with OpenTelemetry's own encoder (as spans, :mod:`.outbox`).

The cursor is the ``time_ns`` of the last point the hub confirmed. One collection writes many points with
the same ``time_ns``, so a batch never ends inside a collection: it takes the first ``limit`` points'
times and then every point up to the last of those times (a batch may exceed ``limit`` by one
collection's points). Points are read only once ``settle_ns`` old, like spans. A batch resent after a crash
or a lost answer is dropped by the hub (stable point ids), so the cursor only needs to move after a
confirmed delivery.

Exponential histograms are stored locally with count, sum, min and max only (no buckets): they are sent
as explicit-bucket histograms with a single bucket, which keeps every figure the fleet reports use.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any, Final

import orjson
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
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
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.eventlog import EventLog, schema

_COLUMNS: Final = (
    "name, description, unit, kind, is_monotonic, temporality, start_ns, time_ns, value, count, sum, min, max, "
    "bucket_counts, explicit_bounds, attributes, resource, scope_name, scope_version"
)
# Names come from the schema module; values are bound.
_LAST_TIME: Final = (
    f"SELECT max(time_ns) FROM (SELECT time_ns FROM {schema.METRIC_POINTS} "  # noqa: S608
    "WHERE time_ns > ? AND time_ns >= ? AND time_ns <= ? ORDER BY time_ns LIMIT ?)"
)
_POINTS: Final = (
    f"SELECT {_COLUMNS} FROM {schema.METRIC_POINTS} "  # noqa: S608
    "WHERE time_ns > ? AND time_ns >= ? AND time_ns <= ? ORDER BY time_ns, name"
)


@dataclass(frozen=True)
class PointBatch:
    """Points read after a cursor, as the SDK's ``MetricsData``, and the cursor of the last of them."""

    data: MetricsData
    points: int
    last_ns: int


def read_points(log: EventLog, after_ns: int, *, since_ns: int, until_ns: int, limit: int) -> PointBatch | None:
    """The next points (about ``limit``, whole collections) after ``after_ns`` with ``time_ns`` in
    ``[since_ns, until_ns]``; None when there are none.

    Example::

        batch = read_points(log, state.metrics_cursor_ns, since_ns=state.since_ns, until_ns=now, limit=512)
    """
    with log.reader() as cur:
        found = cur.execute(_LAST_TIME, [after_ns, since_ns, until_ns, limit]).fetchone()
        last = found[0] if found else None
        if last is None:
            return None
        rows = cur.execute(_POINTS, [after_ns, since_ns, last]).fetchall()
    data, points = _metrics_data(rows)
    return PointBatch(data, points, int(last))


def encode_points(data: MetricsData, install_id: str, install_attribute: str) -> bytes:
    """One gzip-compressed ``ExportMetricsServiceRequest`` (OpenTelemetry's encoder), every resource naming
    the install (``install_attribute`` = SHA-256 hex of its deletion key)."""
    named = [
        ResourceMetrics(Resource({**rm.resource.attributes, install_attribute: install_id}), rm.scope_metrics,
                        rm.schema_url)
        for rm in data.resource_metrics
    ]  # fmt: skip
    return gzip.compress(encode_metrics(MetricsData(named)).SerializeToString(), compresslevel=6)


def _metrics_data(rows: list[tuple[Any, ...]]) -> tuple[MetricsData, int]:
    """Rows -> resource -> scope -> metric -> points, in the order read. Points whose value was stored as
    NULL (it was NaN or infinite) are not sent: OTLP receivers refuse them."""
    tree: dict[str, dict[tuple[str, str], dict[tuple[Any, ...], list[Any]]]] = {}
    points = 0
    for row in rows:
        (name, description, unit, kind, monotonic, temporality, start_ns, time_ns, value, count, total, low, high,
         buckets, bounds, attributes, resource, scope_name, scope_version) = row  # fmt: skip
        attrs = _attributes(attributes)
        if kind in ("gauge", "sum"):
            if value is None:
                continue
            point: Any = NumberDataPoint(attrs, start_ns or 0, time_ns, value)
        elif kind in ("histogram", "exponential_histogram"):
            if count is None or total is None or low is None or high is None:
                continue
            if kind == "exponential_histogram" or not buckets:
                buckets, bounds = [count], []
            point = HistogramDataPoint(attrs, start_ns or 0, time_ns, count, total, list(buckets),
                                       [float(b) for b in bounds or ()], low, high)  # fmt: skip
        else:
            continue
        key = (name, description or "", unit or "", kind, monotonic, temporality)
        scope = (scope_name or "unknown", scope_version or "")
        tree.setdefault(resource or "", {}).setdefault(scope, {}).setdefault(key, []).append(point)
        points += 1
    resources = []
    for resource, scopes in tree.items():
        scope_metrics = [
            ScopeMetrics(InstrumentationScope(name, version or None), [_metric(k, p) for k, p in metrics.items()], "")
            for (name, version), metrics in scopes.items()
        ]
        resources.append(ResourceMetrics(Resource(_attributes(resource)), scope_metrics, ""))
    return MetricsData(resources), points


def _metric(key: tuple[Any, ...], points: list[Any]) -> Metric:
    name, description, unit, kind, monotonic, temporality = key
    data: Any
    if kind == "gauge":
        data = Gauge(points)
    else:
        period = AggregationTemporality[temporality] if temporality in AggregationTemporality.__members__ else None
        period = period or AggregationTemporality.CUMULATIVE
        data = Sum(points, period, bool(monotonic)) if kind == "sum" else Histogram(points, period)
    return Metric(name, description or None, unit or None, data)


def _attributes(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    value = orjson.loads(text)
    return {str(k): v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}
