"""The SDK wrappers on real OpenTelemetry pipelines: rebuild, never mutate, fail closed."""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import orjson
from _privacy_helpers import HOME, SECRET, make_pipeline
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from processors._sdk import READABLE_SPAN_PARAMETERS
from processors.anonymizer import Anonymizer
from processors.anonymizing import AnonymizingMetricExporter, AnonymizingSpanProcessor


class ExplodingAnonymizer(Anonymizer):
    """An anonymizer with a bug: scrubbing raises for spans named 'boom'."""

    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        if span.name == "boom":
            raise RuntimeError("bug while scrubbing")
        return super().scrub_span(span)


def test_span_is_rebuilt_and_the_input_never_mutated(anon: Anonymizer) -> None:
    raw = InMemorySpanExporter()
    pipeline = make_pipeline(anon)
    pipeline.provider.add_span_processor(SimpleSpanProcessor(raw))
    attrs = {"user_email": "h@example.com", "model_name": "llama-2-7b", "cfg": '{"token": "t-1", "r": 8}'}
    with pipeline.provider.get_tracer("t").start_as_current_span("train", attributes=attrs):
        pass
    (clean,) = pipeline.spans()
    (original,) = raw.get_finished_spans()
    assert clean is not original
    assert dict(original.attributes) == attrs  # the SDK's span is untouched
    assert dict(clean.attributes) == {
        "model_name": "llama-2-7b",
        "cfg": '{"r":8}',
        "peft.redactions": '{"key.email":1,"key.token":1}',
    }
    assert clean.context == original.context and clean.start_time == original.start_time
    assert clean.end_time == original.end_time and clean.kind == original.kind
    pipeline.provider.shutdown()


def test_no_redactions_attribute_when_nothing_was_removed(pipeline) -> None:  # type: ignore[no-untyped-def]
    with pipeline.provider.get_tracer("t").start_as_current_span("ok", attributes={"lora_r": 16}):
        pass
    (span,) = pipeline.spans()
    assert dict(span.attributes) == {"lora_r": 16}


def test_every_field_of_a_full_span_survives_the_rebuild(anon: Anonymizer) -> None:
    """The rebuild passes ReadableSpan's arguments by position (the hot path): every field must land in
    its own place, for a span that has all of them."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    provider.add_span_processor(AnonymizingSpanProcessor(anon, SimpleSpanProcessor(exporter)))
    tracer = provider.get_tracer("scope-name", "1.2.3")
    with tracer.start_as_current_span("parent") as parent:
        link = Link(parent.get_span_context(), {"why": "retry"})
        with tracer.start_as_current_span("child", kind=SpanKind.SERVER, links=[link]) as child:
            child.add_event("checkpoint", {"step": 3})
            child.set_status(Status(StatusCode.ERROR, "disk full"))
    (clean, _) = exporter.get_finished_spans()
    assert clean.name == "child" and clean.kind is SpanKind.SERVER
    assert clean.parent is not None and clean.parent.span_id == parent.get_span_context().span_id
    assert clean.context == child.get_span_context()
    assert clean.start_time == child.start_time and clean.end_time == child.end_time
    assert (clean.status.status_code, clean.status.description) == (StatusCode.ERROR, "disk full")
    assert [(e.name, dict(e.attributes or {})) for e in clean.events] == [("checkpoint", {"step": 3})]
    assert [(li.context, dict(li.attributes or {})) for li in clean.links] == [(link.context, {"why": "retry"})]
    assert clean.instrumentation_scope is not None
    assert (clean.instrumentation_scope.name, clean.instrumentation_scope.version) == ("scope-name", "1.2.3")
    assert clean.resource.attributes["service.name"] == "svc"
    assert (clean.dropped_attributes, clean.dropped_events, clean.dropped_links) == (0, 0, 0)
    provider.shutdown()


def test_readable_span_takes_its_arguments_in_the_order_the_hot_path_passes_them() -> None:
    """processors._sdk builds spans positionally (the hot path): an SDK release that reorders ReadableSpan's
    parameters must fail here, not silently swap fields."""
    assert tuple(inspect.signature(ReadableSpan).parameters)[: len(READABLE_SPAN_PARAMETERS)] == (
        READABLE_SPAN_PARAMETERS
    )
    assert READABLE_SPAN_PARAMETERS == (
        "name", "context", "parent", "resource", "attributes", "events", "links", "kind",
        "instrumentation_info", "status", "start_time", "end_time", "instrumentation_scope",
    )  # fmt: skip


def test_dropped_counts_survive_the_rebuild(anon: Anonymizer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=2, max_events=1))
    provider.add_span_processor(AnonymizingSpanProcessor(anon, SimpleSpanProcessor(exporter)))
    with provider.get_tracer("t").start_as_current_span("x", attributes={"a": 1, "b": 2, "c": 3}) as span:
        span.add_event("e1")
        span.add_event("e2")
    (stored,) = exporter.get_finished_spans()
    assert stored.dropped_attributes == 1
    assert stored.dropped_events == 1
    provider.shutdown()


def test_span_whose_scrubbing_raises_is_dropped_counted_and_never_forwarded() -> None:
    exporter = InMemorySpanExporter()
    drops: list[str] = []
    processor = AnonymizingSpanProcessor(
        ExplodingAnonymizer(secret=lambda: SECRET), SimpleSpanProcessor(exporter), on_drop=lambda: drops.append("x")
    )
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("t")
    for name in ("ok-1", "boom", "ok-2", "boom"):
        with tracer.start_as_current_span(name, attributes={"email": "i@example.com"}):
            pass  # the app never sees the anonymizer's error
    assert [s.name for s in exporter.get_finished_spans()] == ["ok-1", "ok-2"]
    assert processor.dropped == 2 and drops == ["x", "x"]
    provider.shutdown()


def test_on_drop_hook_that_raises_is_contained() -> None:
    def bad_hook() -> None:
        raise ValueError("hook bug")

    exporter = InMemorySpanExporter()
    processor = AnonymizingSpanProcessor(ExplodingAnonymizer(), SimpleSpanProcessor(exporter), on_drop=bad_hook)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    with provider.get_tracer("t").start_as_current_span("boom"):
        pass
    assert processor.dropped == 1 and not exporter.get_finished_spans()
    provider.shutdown()


class CollectingMetricExporter(MetricExporter):
    """A real MetricExporter that keeps what it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def _points(batches: Sequence[MetricsData]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for batch in batches:
        for rm in batch.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(dict(p.attributes or {}) for p in metric.data.data_points)
    return out


def test_metric_exporter_scrubs_points_and_resource() -> None:
    inner = CollectingMetricExporter()
    anonymizer = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    reader = PeriodicExportingMetricReader(AnonymizingMetricExporter(anonymizer, inner), export_interval_millis=60_000)
    provider = MeterProvider(
        resource=Resource.create({"host.name": "ivan-pc", "service.name": "peft"}), metric_readers=[reader]
    )
    meter = provider.get_meter("m")
    meter.create_counter("requests").add(1, {"route": "/api/x", "client_ip": "10.0.0.7", "file": "/home/zqxalice/a.py"})
    meter.create_histogram("latency", unit="ms").record(12.5, {"note": "by ivan@example.com"})
    assert provider.force_flush()
    points = _points(inner.batches)
    assert points["requests"] == [{"route": "/api/x", "file": "a.py"}]
    assert points["latency"] == [{"note": "by <email>"}]
    resource = inner.batches[0].resource_metrics[0].resource
    assert "host.name" not in resource.attributes and resource.attributes["service.name"] == "peft"
    provider.shutdown()


def test_metric_that_fails_to_scrub_is_dropped_alone() -> None:
    def broken_secret() -> bytes:
        raise RuntimeError("no secret")

    inner = CollectingMetricExporter()
    wrapper = AnonymizingMetricExporter(Anonymizer(secret=broken_secret), inner)
    reader = PeriodicExportingMetricReader(wrapper, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("m")
    meter.create_counter("per_user").add(1, {"user_id": "u-123"})  # hashing fails -> this metric goes
    meter.create_counter("plain").add(1, {"model_name": "llama"})
    assert provider.force_flush()
    points = _points(inner.batches)
    assert "per_user" not in points
    assert points["plain"] == [{"model_name": "llama"}]
    assert wrapper.dropped == 1
    provider.shutdown()


def test_preview_shows_what_would_be_stored(anon: Anonymizer) -> None:
    event = {
        "event_type": "model_loaded",
        "properties": {
            "model_name": "llama-2-7b",
            "email": "a@b.io",
            "cfg": {"lr": 2e-4, "path": "/home/zqxalice/m.bin"},
        },
    }
    preview = anon.preview(event)
    assert preview == {
        "event_type": "model_loaded",
        "properties": {"model_name": "llama-2-7b", "cfg.lr": 2e-4, "cfg.path": "m.bin"},
        "redactions": {"key.email": 1, "path.home": 1},
    }
    assert orjson.loads(orjson.dumps(preview)) == preview  # plain JSON, ready for the CLI and the API
