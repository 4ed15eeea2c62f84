"""Reading the event log as an outbox: spans after a cursor, back into SDK spans, then OTLP protobuf.

The cursor is ``(end_ns, trace_id, span_id)`` of the last span sent: spans are read in that order, and a
span is only read once it ended ``settle_ns`` ago, so that spans still waiting in the recording pipeline
(which writes them within a flush interval, or a lock timeout when another process holds the log) are not
skipped by a cursor that already moved past their end time.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any, Final

import orjson
import pyarrow as pa
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from exporters._bounded_cache import BoundedCache
from exporters.eventlog import EventLog, schema

_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)
_COLUMNS: Final = (
    "trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, status_message, attributes, "
    "resource, scope_name, scope_version, redactions, links"
)
# Names come from the schema module; values are bound.
_AFTER: Final = (
    f"SELECT {_COLUMNS} FROM {schema.SPANS_WITH_RESOURCE} "  # noqa: S608
    "WHERE end_ns >= ? AND end_ns <= ? AND (end_ns > ? OR (end_ns = ? AND (trace_id > ? OR "
    "(trace_id = ? AND span_id > ?)))) ORDER BY end_ns, trace_id, span_id LIMIT ?"
)
_EVENTS: Final = (
    f"SELECT e.trace_id, e.span_id, e.name, e.time_ns, e.attributes FROM {schema.SPAN_EVENTS} e "  # noqa: S608
    "SEMI JOIN peft_share_keys k ON e.trace_id = k.trace_id AND e.span_id = k.span_id ORDER BY e.seq"
)


@dataclass(frozen=True)
class Cursor:
    """Position in the outbox: the last span sent (``end_ns``, then ids to break ties)."""

    end_ns: int
    trace_id: str = ""
    span_id: str = ""


@dataclass(frozen=True)
class Batch:
    """Spans read after a cursor, and the cursor of the last of them."""

    spans: list[ReadableSpan]
    last: Cursor


def read_batch(log: EventLog, after: Cursor, *, since_ns: int, until_ns: int, limit: int) -> Batch | None:
    """The next ``limit`` spans after ``after`` that ended in ``[since_ns, until_ns]``; None when none."""
    with log.reader() as cur:
        rows = cur.execute(
            _AFTER,
            [since_ns, until_ns, after.end_ns, after.end_ns, after.trace_id, after.trace_id, after.span_id, limit],
        ).fetchall()
        if not rows:
            return None
        keys = pa.table({"trace_id": [r[0] for r in rows], "span_id": [r[1] for r in rows]})
        cur.register("peft_share_keys", keys)
        try:
            event_rows = cur.execute(_EVENTS).fetchall()
        finally:
            cur.unregister("peft_share_keys")
    events: dict[tuple[str, str], list[Event]] = {}
    for trace_id, span_id, name, time_ns, attributes in event_rows:
        events.setdefault((trace_id, span_id), []).append(Event(name, _attributes(attributes), time_ns))
    spans = [_span(row, events.get((row[0], row[1]), [])) for row in rows]
    last = rows[-1]
    return Batch(spans, Cursor(last[6], last[0], last[1]))


def encode_batch(spans: list[ReadableSpan], install_id: str, install_attribute: str) -> bytes:
    """One gzip-compressed ``ExportTraceServiceRequest`` (OpenTelemetry's encoder), every resource naming
    the install (``install_attribute`` = SHA-256 hex of its deletion key)."""
    tagged: dict[int, Resource] = {}
    out = []
    for span in spans:
        resource = span.resource
        named = tagged.get(id(resource))
        if named is None:
            named = Resource({**resource.attributes, install_attribute: install_id})
            tagged[id(resource)] = named
        out.append(_with_resource(span, named))
    return gzip.compress(encode_spans(out).SerializeToString(), compresslevel=6)


def _with_resource(span: ReadableSpan, resource: Resource) -> ReadableSpan:
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=resource, attributes=span.attributes,
        events=span.events, links=span.links, kind=span.kind, status=span.status, start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )  # fmt: skip


def _attributes(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    value = orjson.loads(text)
    return {str(k): v for k, v in value.items() if v is not None} if isinstance(value, dict) else {}


_RESOURCES: BoundedCache[str, Resource] = BoundedCache(257)


def _resource(text: str | None) -> Resource:
    key = text or ""
    found = _RESOURCES.get(key)
    if found is None:
        found = Resource(_attributes(text))
        _RESOURCES.put(key, found)
    return found


def _span(row: tuple[Any, ...], events: list[Event]) -> ReadableSpan:
    (trace_id, span_id, parent_id, name, kind, start_ns, end_ns, code, message, attributes, resource, scope_name,
     scope_version, redactions, links) = row  # fmt: skip
    trace = int(trace_id, 16)
    attrs = _attributes(attributes)
    if redactions:
        attrs[schema.ATTR_REDACTIONS] = redactions if isinstance(redactions, str) else orjson.dumps(redactions).decode()
    link_list = [
        Link(SpanContext(int(link["trace_id"], 16), int(link["span_id"], 16), True, _SAMPLED),
             {str(k): v for k, v in (link.get("attributes") or {}).items() if v is not None})
        for link in (orjson.loads(links) if links else [])
    ]  # fmt: skip
    status_code = StatusCode[code] if code in StatusCode.__members__ else StatusCode.UNSET
    return ReadableSpan(
        name=name,
        context=SpanContext(trace, int(span_id, 16), False, _SAMPLED),
        parent=SpanContext(trace, int(parent_id, 16), False, _SAMPLED) if parent_id else None,
        resource=_resource(resource),
        attributes=attrs,
        events=events,
        links=link_list,
        kind=SpanKind[kind] if kind in SpanKind.__members__ else SpanKind.INTERNAL,
        status=Status(status_code, message if status_code is StatusCode.ERROR else None),
        start_time=start_ns,
        end_time=end_ns,
        instrumentation_scope=InstrumentationScope(scope_name or "unknown", scope_version or None),
    )
