"""``ExportTraceServiceRequest`` -> ``ReadableSpan``: exactly what the SDK hands a span processor.

Each span carries its resource and instrumentation scope, so a received span takes the same consent gate,
anonymizer and event log as a local one. Bad spans are rejected one by one (see :mod:`.common`).

Every check lives in :func:`span_values`, which returns a span as plain values: the receiver builds its SDK
span from them, the hub (``telemetry.hub.lake_rows``) its lake row, so both take and refuse the same spans.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final, NamedTuple

from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue

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


def _span_id(raw: bytes, what: str) -> bytes:
    if len(raw) != 8 or not any(raw):
        raise Invalid(f"{what} must be 8 non-zero bytes")
    return raw


def _trace_id(raw: bytes) -> bytes:
    if len(raw) != 16 or not any(raw):
        raise Invalid("trace_id must be 16 non-zero bytes")
    return raw


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
_INTERNAL: Final = SpanKind.INTERNAL
_UNSET: Final = StatusCode.UNSET
_ERROR: Final = StatusCode.ERROR


class SpanValues(NamedTuple):
    """One received span, checked, as plain values: what both the receiver (SDK span) and the hub (lake row)
    are built from. Ids are the validated raw bytes; events are ``(name, attributes, time)``, links
    ``(trace_id, span_id, attributes)``; ``status_message`` is kept for ERROR only (as the SDK does)."""

    trace_id: bytes
    span_id: bytes
    parent_span_id: bytes | None
    flags: int
    trace_state: TraceState | None
    name: str
    kind: SpanKind
    start: int
    end: int
    attributes: dict[str, AttributeValue]
    events: list[tuple[str, dict[str, AttributeValue], int]]
    links: list[tuple[bytes, bytes, dict[str, AttributeValue]]]
    status_code: StatusCode
    status_message: str | None


def span_values(span: trace_pb2.Span) -> SpanValues:
    """Every check of a received span, in one order (the first failure names the rejection). Raises
    ``Invalid``.

    Example::

        values = span_values(request.resource_spans[0].scope_spans[0].spans[0])
        values.trace_id.hex(), values.name, values.attributes
    """
    # The id and name checks inline (the helpers are for the rare cases): this runs for every span.
    trace_id = span.trace_id
    if len(trace_id) != 16 or not any(trace_id):
        _trace_id(trace_id)
    flags = span.flags & 0xFF
    span_id = span.span_id
    if len(span_id) != 8 or not any(span_id):
        _span_id(span_id, "span_id")
    header = span.trace_state
    trace_state = _trace_state(header) if header else None
    parent = span.parent_span_id or None
    if parent is not None and (len(parent) != 8 or not any(parent)):
        _span_id(parent, "parent_span_id")
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    if not start or end < start:
        raise Invalid("a span needs a start time and an end time not before it")
    raw_events, raw_links = span.events, span.links
    if len(raw_events) > MAX_EVENTS or len(raw_links) > MAX_LINKS:
        raise Invalid("too many span events or links")
    events = (
        [(checked_text(e.name, MAX_NAME), attributes_of(e.attributes), e.time_unix_nano or start) for e in raw_events]
        if raw_events
        else []
    )
    links = (
        [
            (_trace_id(link.trace_id), _span_id(link.span_id, "link span_id"), attributes_of(link.attributes))
            for link in raw_links
        ]
        if raw_links
        else []
    )
    status = span.status
    code = _CODES.get(status.code, _UNSET)
    message = checked_text(status.message, MAX_STRING) if code is _ERROR else None
    name = span.name
    if len(name) > MAX_NAME or "\x00" in name:
        checked_text(name, MAX_NAME)
    return SpanValues(
        trace_id, span_id, parent, flags, trace_state, name or "unnamed", _KINDS.get(span.kind, _INTERNAL), start,
        end, attributes_of(span.attributes), events, links, code, message,
    )  # fmt: skip


def _span(span: trace_pb2.Span, resource: Resource, scope: SdkScope) -> ReadableSpan:
    v = span_values(span)
    trace_id = int.from_bytes(v.trace_id, "big")
    flags = _FLAGS[v.flags]
    context = SpanContext(trace_id, int.from_bytes(v.span_id, "big"), False, flags, v.trace_state)
    parent = None
    if v.parent_span_id is not None:
        parent = SpanContext(trace_id, int.from_bytes(v.parent_span_id, "big"), True, flags)
    events = [Event(name, attributes, time) for name, attributes, time in v.events]
    links = [
        Link(SpanContext(int.from_bytes(t, "big"), int.from_bytes(s, "big"), True, flags), attributes)
        for t, s, attributes in v.links
    ]
    code = v.status_code
    if code is _ERROR:
        status = Status(code, v.status_message)
    else:
        status = _OK_STATUS if code is StatusCode.OK else _UNSET_STATUS
    return ReadableSpan(
        name=v.name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=v.attributes,
        events=events,
        links=links,
        kind=v.kind,
        status=status,
        start_time=v.start,
        end_time=v.end,
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
