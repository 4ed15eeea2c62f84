"""Every string field of a ReadableSpan, a MetricsData and a Resource, filled with personal data, comes out clean.

The span is built from ``ReadableSpan``'s own signature: a parameter this test does not know how to fill
fails it, so an SDK release that adds a field cannot be forgotten. Metric data is walked through its
dataclass fields: every ``str`` field must have been planted (checked before scrubbing), and after the
metric exporter wrapper no planted name survives anywhere in the output, keys included.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from _privacy_helpers import HOME, SECRET
from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from processors.anonymizer import Anonymizer
from processors.anonymizing import AnonymizingMetricExporter

NEEDLE = "okonkwo"
_counter = itertools.count()


def planted() -> str:
    """A new string holding personal data: a person's name and an e-mail address."""
    n = next(_counter)
    return f"Siobhan Okonkwo{n} siobhan.okonkwo{n}@example.com"


def planted_key() -> str:
    return f"okonkwo_{next(_counter)}"


def planted_attrs() -> dict[str, str]:
    return {planted_key(): planted(), "detail": planted()}


def planted_resource() -> Resource:
    return Resource(planted_attrs(), planted())


def planted_scope() -> InstrumentationScope:
    return InstrumentationScope(planted(), planted(), planted(), planted_attrs())


def planted_context() -> SpanContext:
    return SpanContext(1, 2, False, TraceFlags(1), TraceState([("okonkwo", "siobhan-okonkwo")]))


def _strings(value: Any, seen: dict[int, Any] | None = None) -> Iterator[str]:
    """Every string reachable from value: mapping keys and values, sequences, dataclasses, SDK objects."""
    # Keyed by id, holding the object: a temporary (``dict(value.attributes)``) freed during the walk could
    # otherwise hand its id to a later object, which would then be skipped as already seen.
    seen = {} if seen is None else seen
    if id(value) in seen:
        return
    seen[id(value)] = value
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(k, seen)
            yield from _strings(v, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _strings(getattr(value, f.name), seen)
    elif isinstance(value, Resource):
        yield from _strings(dict(value.attributes), seen)
        yield from _strings(value.schema_url, seen)
    elif isinstance(value, InstrumentationScope):
        yield from _strings([value.name, value.version, value.schema_url, dict(value.attributes or {})], seen)
    elif isinstance(value, SpanContext):
        yield from _strings(list(value.trace_state.items()), seen)
    elif isinstance(value, Status):
        yield from _strings(value.description, seen)
    elif isinstance(value, (Event, Link)):
        yield from _strings([getattr(value, "name", None), dict(value.attributes or {})], seen)
        yield from _strings(getattr(value, "context", None), seen)
    elif isinstance(value, ReadableSpan):
        for name in inspect.signature(ReadableSpan).parameters:
            yield from _strings(getattr(value, name, None), seen)


def _span_argument(name: str) -> Any:
    fillers: dict[str, Any] = {
        "name": planted(),
        "context": planted_context(),
        "parent": None,
        "resource": planted_resource(),
        "attributes": {**planted_attrs(), "exception.message": planted()},
        "events": [
            Event(planted(), planted_attrs()),
            Event(
                "exception",
                {
                    "exception.type": "ValueError",
                    "exception.message": planted(),
                    "exception.stacktrace": f"Traceback (most recent call last):\nValueError: {planted()}\n"
                    f"  + Exception Group Traceback\n  | KeyError: '{planted()}'\n{planted()}",
                },
            ),
        ],
        "links": [Link(planted_context(), planted_attrs())],
        "kind": SpanKind.INTERNAL,
        "instrumentation_info": None,  # deprecated; the scope below replaces it
        "status": Status(StatusCode.ERROR, planted()),
        "start_time": 1,
        "end_time": 2,
        "instrumentation_scope": planted_scope(),
    }
    assert name in fillers, f"ReadableSpan has a new parameter {name!r}: plant personal data in it here"
    return fillers[name]


def test_every_string_of_a_span_is_scrubbed() -> None:
    anon = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    params = inspect.signature(ReadableSpan).parameters
    span = ReadableSpan(**{name: _span_argument(name) for name in params})
    before = [s for s in _strings(span) if NEEDLE in s.lower()]
    assert len(before) >= 20  # the planting reached every field
    clean = anon.scrub_span(span)
    leaks = [s for s in _strings(clean) if NEEDLE in s.lower() or "siobhan" in s.lower()]
    assert leaks == []


class _Collecting(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


def _exemplars() -> list[Exemplar]:
    return [Exemplar(planted_attrs(), 1.0, 1, 2, 3)]


def _metrics_data() -> MetricsData:
    number = NumberDataPoint(planted_attrs(), 0, 1, 5, exemplars=_exemplars())
    histogram = HistogramDataPoint(planted_attrs(), 0, 1, 1, 2.0, [0, 1], [1.0], 1.0, 2.0, exemplars=_exemplars())
    exponential = ExponentialHistogramDataPoint(
        planted_attrs(), 0, 1, 1, 2.0, 0, 0, Buckets(0, [1]), Buckets(0, []), 0, 1.0, 2.0, exemplars=_exemplars()
    )
    cumulative = AggregationTemporality.CUMULATIVE
    datas = [
        Sum([number], cumulative, True),
        Gauge([number]),
        Histogram([histogram], cumulative),
        ExponentialHistogram([exponential], cumulative),
    ]
    metrics = [Metric(planted(), planted(), planted(), data) for data in datas]
    scope = ScopeMetrics(planted_scope(), metrics, planted())
    return MetricsData([ResourceMetrics(planted_resource(), [scope], planted())])


def _str_fields_are_planted(value: Any) -> list[str]:
    """Names of dataclass ``str`` fields that hold no planted data (a field this test does not fill)."""
    missing = []
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            field_value = getattr(value, f.name)
            if f.type in ("str", str) and NEEDLE not in str(field_value).lower():
                missing.append(f"{type(value).__name__}.{f.name}")
            missing += _str_fields_are_planted(field_value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            missing += _str_fields_are_planted(item)
    return missing


def test_every_string_of_metrics_data_is_scrubbed() -> None:
    anon = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    inner = _Collecting()
    data = _metrics_data()
    assert _str_fields_are_planted(data) == []
    assert AnonymizingMetricExporter(anon, inner).export(data) is MetricExportResult.SUCCESS
    (clean,) = inner.batches
    assert sum(len(sm.metrics) for rm in clean.resource_metrics for sm in rm.scope_metrics) == 4
    leaks = [s for s in _strings(clean) if NEEDLE in s.lower() or "siobhan" in s.lower()]
    assert leaks == []


def test_every_string_of_a_resource_is_scrubbed() -> None:
    anon = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    resource = Resource({**planted_attrs(), "nested.list": (planted(), planted())}, planted())
    clean, counts = anon.scrub_resource(resource)
    assert counts
    assert [s for s in _strings(clean) if NEEDLE in s.lower() or "siobhan" in s.lower()] == []
