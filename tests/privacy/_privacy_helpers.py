"""Helpers for the privacy engine's tests: a fixed home folder and a real OTel pipeline around it."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from processors.anonymizer import Anonymizer
from processors.anonymizing import AnonymizingSpanProcessor

#: The test user's home folder. The user name is distinctive so that finding it in output means a leak.
HOME = "/home/zqxalice"
HOME_USER = "zqxalice"
WINDOWS_HOME = "C:\\Users\\ZqxAlice"
SECRET = b"0123456789abcdef0123456789abcdef"


@dataclass
class Pipeline:
    """TracerProvider -> AnonymizingSpanProcessor -> SimpleSpanProcessor -> InMemorySpanExporter."""

    provider: TracerProvider
    processor: AnonymizingSpanProcessor
    exporter: InMemorySpanExporter

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()


def make_pipeline(anonymizer: Anonymizer, resource: Resource | None = None) -> Pipeline:
    exporter = InMemorySpanExporter()
    processor = AnonymizingSpanProcessor(anonymizer, SimpleSpanProcessor(exporter))
    provider = TracerProvider(resource=resource or Resource.create({"service.name": "peft-studio"}))
    provider.add_span_processor(processor)
    return Pipeline(provider, processor, exporter)


def all_strings(span: ReadableSpan) -> list[str]:
    """Every string the event log could store from a span (keys included)."""
    out: list[str] = [span.name]

    def attrs(mapping: object) -> None:
        if not mapping:
            return
        for key, value in dict(mapping).items():  # type: ignore[call-overload]
            out.append(str(key))
            values = value if isinstance(value, (list, tuple)) else [value]
            out.extend(str(v) for v in values)

    attrs(span.attributes)
    for event in span.events:
        out.append(event.name)
        attrs(event.attributes)
    for link in span.links:
        attrs(link.attributes)
    if span.status.description:
        out.append(span.status.description)
    attrs(span.resource.attributes)
    scope = span.instrumentation_scope
    if scope is not None:
        out.append(scope.name)
        out.append(scope.version or "")
        attrs(scope.attributes)
    return out
