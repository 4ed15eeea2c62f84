"""OTLP messages (protobuf, or OTLP JSON) into the SDK's own objects, so received data takes our pipeline.

A received span becomes a ``ReadableSpan`` with its resource and instrumentation scope, exactly what the
SDK hands a span processor; received metrics become ``MetricsData``, what a metric reader hands an
exporter. From there they pass the same consent gate, anonymizer and event log as local data.

Each span or data point is checked on its own (ids, times, string sizes, NUL, non-finite numbers); a bad
one is rejected and counted in the standard ``partial_success``, the rest of the batch is kept. Error
messages name the problem, never a value.

OTLP JSON differs from protobuf's canonical JSON in one way that matters: trace and span ids are hex
strings, not base64 (field notes). :func:`otlp_json_to_proto` fixes them before ``ParseDict``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.proto.trace.v1 import trace_pb2
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
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from telemetry.events import to_attributes

MAX_STRING: Final = 65_536
MAX_NAME: Final = 1_024
MAX_ATTRIBUTES: Final = 128
MAX_EVENTS: Final = 128
MAX_LINKS: Final = 128
MAX_VALUE_DEPTH: Final = 8
MAX_BUCKETS: Final = 1_024
_ID_KEYS: Final = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})

T = TypeVar("T", bound=Message)


class Invalid(ValueError):
    """One span or data point cannot be taken; the message names why, without quoting values."""


@dataclass
class Converted:
    """What came out of one request: the SDK objects, and how many items were rejected and why."""

    items: list[Any] = field(default_factory=list)
    rejected: int = 0
    reasons: set[str] = field(default_factory=set)

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        self.reasons.add(reason)

    @property
    def message(self) -> str:
        return "; ".join(sorted(self.reasons))[:1_000]


# -- request parsing -----------------------------------------------------------------------------------


def parse_protobuf(body: bytes, message_type: type[T]) -> T:
    """Raises ``Invalid`` for bytes that are not a ``message_type``."""
    try:
        return message_type.FromString(body)
    except Exception:  # DecodeError, or RuntimeError from a recursion limit in upb
        raise Invalid("the body is not a valid protobuf " + message_type.DESCRIPTOR.name) from None


def otlp_json_to_proto(document: Any, message_type: type[T]) -> T:
    """Parse an OTLP JSON document (hex ids) into ``message_type``. Raises ``Invalid``."""
    if not isinstance(document, dict):
        raise Invalid("the body must be a JSON object")
    try:
        fixed = _hex_ids_to_base64(document)
        return json_format.ParseDict(fixed, message_type(), ignore_unknown_fields=True)
    except Invalid:
        raise
    except Exception:  # ParseError quotes the offending value: do not pass it on
        raise Invalid("the body is not a valid OTLP JSON " + message_type.DESCRIPTOR.name) from None


def _hex_ids_to_base64(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (_hex_to_b64(v) if k in _ID_KEYS else _hex_ids_to_base64(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids_to_base64(v) for v in value]
    return value


def _hex_to_b64(value: Any) -> Any:
    if not isinstance(value, str):
        raise Invalid("trace and span ids must be hex strings")
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        raise Invalid("trace and span ids must be hex strings") from None


# -- values ------------------------------------------------------------------------------------------


def _any_value(value: AnyValue, depth: int = 0) -> Any:
    if depth > MAX_VALUE_DEPTH:
        raise Invalid("an attribute value nests too deeply")
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return _text(value.string_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        if not math.isfinite(value.double_value):
            raise Invalid("an attribute is NaN or infinite")
        return value.double_value
    if kind == "array_value":
        return [_any_value(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {_text(kv.key): _any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None  # an empty AnyValue: dropped, as OTel drops None attributes


def _text(value: str, limit: int = MAX_STRING) -> str:
    if len(value) > limit:
        raise Invalid("a string is too long")
    if "\x00" in value:
        raise Invalid("a string contains a NUL character")
    return value


def _attributes(pairs: Sequence[KeyValue]) -> dict[str, AttributeValue]:
    if len(pairs) > MAX_ATTRIBUTES:
        raise Invalid("too many attributes")
    raw: dict[str, Any] = {}
    for kv in pairs:
        key, value = kv.key, kv.value
        if len(key) > 256 or "\x00" in key:
            _text(key, 256)  # raises, naming the problem
        # Strings, ints and bools are nearly every attribute: read them inline, the rest in _any_value.
        kind = value.WhichOneof("value")
        if kind == "string_value":
            text = value.string_value
            raw[key] = text if len(text) <= MAX_STRING and "\x00" not in text else _text(text)
        elif kind == "int_value":
            raw[key] = value.int_value
        elif kind == "bool_value":
            raw[key] = value.bool_value
        else:
            raw[key] = _any_value(value)
    # Nested values become dotted keys or JSON text, exactly as for track_event properties.
    return to_attributes(raw)


def _resource(resource: ProtoResource, schema_url: str) -> Resource:
    return Resource(_attributes(resource.attributes), schema_url or None)


def _scope(scope: InstrumentationScope, schema_url: str) -> SdkScope:
    return SdkScope(
        _text(scope.name, MAX_NAME) or "unknown",
        _text(scope.version, MAX_NAME) or None,
        schema_url or None,
        _attributes(scope.attributes) or None,
    )


def _guarded(out: Converted, count: int, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Invalid as exc:
        out.reject(count, str(exc))
    except Exception:
        out.reject(count, "an item could not be converted")
    return None


# -- traces ------------------------------------------------------------------------------------------


def _span_id(raw: bytes, what: str) -> int:
    if len(raw) != 8 or not any(raw):
        raise Invalid(f"{what} must be 8 non-zero bytes")
    return int.from_bytes(raw, "big")


def _trace_id(raw: bytes) -> int:
    if len(raw) != 16 or not any(raw):
        raise Invalid("trace_id must be 16 non-zero bytes")
    return int.from_bytes(raw, "big")


def _trace_state(header: str) -> TraceState | None:
    if not header:
        return None
    try:
        return TraceState.from_header([_text(header, 512)])
    except Exception:
        return None


# Lookups instead of Enum calls (each ~1 us, several per span). Proto kinds count from UNSPECIFIED=0, the
# SDK's from INTERNAL=0; unknown codes fall back to INTERNAL / UNSET.
_KINDS: Final = {number + 1: kind for number, kind in enumerate(SpanKind)}
_CODES: Final = {code.value: code for code in StatusCode}
_UNSET_STATUS: Final = Status(StatusCode.UNSET)
_OK_STATUS: Final = Status(StatusCode.OK)
_FLAGS: Final = [TraceFlags(flags | TraceFlags.SAMPLED) for flags in range(256)]


def _span(span: trace_pb2.Span, resource: Resource, scope: SdkScope) -> ReadableSpan:
    trace_id = _trace_id(span.trace_id)
    flags = _FLAGS[span.flags & 0xFF]
    context = SpanContext(trace_id, _span_id(span.span_id, "span_id"), False, flags, _trace_state(span.trace_state))
    parent = None
    if span.parent_span_id:
        parent = SpanContext(trace_id, _span_id(span.parent_span_id, "parent_span_id"), True, flags)
    if not span.start_time_unix_nano or span.end_time_unix_nano < span.start_time_unix_nano:
        raise Invalid("a span needs a start time and an end time not before it")
    if len(span.events) > MAX_EVENTS or len(span.links) > MAX_LINKS:
        raise Invalid("too many span events or links")
    events = [
        Event(_text(e.name, MAX_NAME), _attributes(e.attributes), e.time_unix_nano or span.start_time_unix_nano)
        for e in span.events
    ]
    links = [
        Link(
            SpanContext(_trace_id(link.trace_id), _span_id(link.span_id, "link span_id"), True, flags),
            _attributes(link.attributes),
        )
        for link in span.links
    ]
    code = _CODES.get(span.status.code, StatusCode.UNSET)
    if code is StatusCode.ERROR:
        status = Status(code, _text(span.status.message, MAX_STRING))
    else:
        status = _OK_STATUS if code is StatusCode.OK else _UNSET_STATUS
    return ReadableSpan(
        name=_text(span.name, MAX_NAME) or "unnamed",
        context=context,
        parent=parent,
        resource=resource,
        attributes=_attributes(span.attributes),
        events=events,
        links=links,
        kind=_KINDS.get(span.kind, SpanKind.INTERNAL),
        status=status,
        start_time=span.start_time_unix_nano,
        end_time=span.end_time_unix_nano,
        instrumentation_scope=scope,
    )


def convert_traces(request: Any) -> Converted:
    """``ExportTraceServiceRequest`` -> ``ReadableSpan`` list, rejecting bad spans one by one."""
    out = Converted()
    for resource_spans in request.resource_spans:
        count = sum(len(ss.spans) for ss in resource_spans.scope_spans)
        resource = _guarded(out, count, partial(_resource, resource_spans.resource, resource_spans.schema_url))
        if resource is None:
            continue
        for scope_spans in resource_spans.scope_spans:
            scope = _guarded(out, len(scope_spans.spans), partial(_scope, scope_spans.scope, scope_spans.schema_url))
            if scope is None:
                continue
            for span in scope_spans.spans:
                built = _guarded(out, 1, partial(_span, span, resource, scope))
                if built is not None:
                    out.items.append(built)
    return out


# -- metrics -----------------------------------------------------------------------------------------


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise Invalid(f"{what} is NaN or infinite")
    return value


def _number_point(p: metrics_pb2.NumberDataPoint) -> NumberDataPoint:
    kind = p.WhichOneof("value")
    value: int | float = p.as_int if kind == "as_int" else _finite(p.as_double, "a value")
    return NumberDataPoint(_attributes(p.attributes), p.start_time_unix_nano, p.time_unix_nano, value)


def _histogram_point(p: metrics_pb2.HistogramDataPoint) -> HistogramDataPoint:
    bounds = [_finite(b, "a bucket bound") for b in p.explicit_bounds]
    if len(p.bucket_counts) > MAX_BUCKETS or (p.bucket_counts and len(p.bucket_counts) != len(bounds) + 1):
        raise Invalid("bucket_counts must have one more entry than explicit_bounds")
    return HistogramDataPoint(
        _attributes(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count,
        _finite(p.sum, "a sum") if p.HasField("sum") else 0.0, list(p.bucket_counts), bounds,
        _finite(p.min, "a min") if p.HasField("min") else math.inf,
        _finite(p.max, "a max") if p.HasField("max") else -math.inf,
    )  # fmt: skip


def _exp_point(p: metrics_pb2.ExponentialHistogramDataPoint) -> ExponentialHistogramDataPoint:
    if len(p.positive.bucket_counts) > MAX_BUCKETS or len(p.negative.bucket_counts) > MAX_BUCKETS:
        raise Invalid("too many buckets")
    return ExponentialHistogramDataPoint(
        _attributes(p.attributes), p.start_time_unix_nano, p.time_unix_nano, p.count,
        _finite(p.sum, "a sum") if p.HasField("sum") else 0.0, p.scale, p.zero_count,
        Buckets(p.positive.offset, list(p.positive.bucket_counts)),
        Buckets(p.negative.offset, list(p.negative.bucket_counts)), p.flags,
        _finite(p.min, "a min") if p.HasField("min") else math.inf,
        _finite(p.max, "a max") if p.HasField("max") else -math.inf,
    )  # fmt: skip


def _points(out: Converted, points: Iterable[Any], build: Callable[[Any], Any]) -> list[Any]:
    kept = []
    for point in points:
        built = _guarded(out, 1, partial(build, point))
        if built is not None:
            kept.append(built)
    return kept


def _temporality(value: int) -> AggregationTemporality:
    return AggregationTemporality(value) if value in (1, 2) else AggregationTemporality.CUMULATIVE


def _metric(out: Converted, metric: metrics_pb2.Metric) -> Metric | None:
    # Name, description and unit first: a failure here rejects the metric's points exactly once.
    name, description, unit = (
        _text(metric.name, 255),
        _text(metric.description, MAX_NAME),
        _text(metric.unit, 64),
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
        resource = _guarded(out, count, partial(_resource, rm.resource, rm.schema_url))
        if resource is None:
            continue
        scopes: list[ScopeMetrics] = []
        for sm in rm.scope_metrics:
            scope = _guarded(out, sum(map(_point_count, sm.metrics)), partial(_scope, sm.scope, sm.schema_url))
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
    result: Metric | None = _guarded(out, _point_count(metric), partial(_metric, out, metric))
    return result


def _point_count(metric: metrics_pb2.Metric) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0
