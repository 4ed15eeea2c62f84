"""``ExportTraceServiceRequest`` -> ``ReadableSpan``: exactly what the SDK hands a span processor.

Each span carries its resource and instrumentation scope, so a received span takes the same consent gate,
anonymizer and event log as a local one. Bad spans are rejected one by one (see :mod:`.common`).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode

from telemetry.server.otlp_convert.common import (
    MAX_EVENTS,
    MAX_LINKS,
    MAX_NAME,
    MAX_STRING,
    Converted,
    Invalid,
    attributes_of,
    checked_text,
    guarded,
    resource_of,
    scope_of,
)


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
        return TraceState.from_header([checked_text(header, 512)])
    except Exception:
        return None


# Lookups instead of Enum calls (an Enum call runs Python code, and every span needs several). Proto kinds
# count from UNSPECIFIED=0, the SDK's from INTERNAL=0; unknown codes fall back to INTERNAL / UNSET.
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
        Event(
            checked_text(e.name, MAX_NAME), attributes_of(e.attributes), e.time_unix_nano or span.start_time_unix_nano
        )
        for e in span.events
    ]
    links = [
        Link(
            SpanContext(_trace_id(link.trace_id), _span_id(link.span_id, "link span_id"), True, flags),
            attributes_of(link.attributes),
        )
        for link in span.links
    ]
    code = _CODES.get(span.status.code, StatusCode.UNSET)
    if code is StatusCode.ERROR:
        status = Status(code, checked_text(span.status.message, MAX_STRING))
    else:
        status = _OK_STATUS if code is StatusCode.OK else _UNSET_STATUS
    return ReadableSpan(
        name=checked_text(span.name, MAX_NAME) or "unnamed",
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes_of(span.attributes),
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
        resource = guarded(out, count, partial(resource_of, resource_spans.resource, resource_spans.schema_url))
        if resource is None:
            continue
        for scope_spans in resource_spans.scope_spans:
            scope = guarded(out, len(scope_spans.spans), partial(scope_of, scope_spans.scope, scope_spans.schema_url))
            if scope is None:
                continue
            for span in scope_spans.spans:
                built = guarded(out, 1, partial(_span, span, resource, scope))
                if built is not None:
                    out.items.append(built)
    return out
