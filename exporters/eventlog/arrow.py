"""Finished spans to Arrow tables shaped like ``schema.SPANS`` / ``schema.SPAN_EVENTS``: the hot path.

The pipeline must sustain >= 15k events/s on one core, so this builds one Python list per column in a
single pass, reads each span's attributes once (``ReadableSpan.attributes`` is a Python-level mapping),
serializes maps with orjson, caches per ``Resource`` object its id, JSON and session id, and lets Arrow's
C code build the arrays. A batch's distinct resources come back as a third, tiny table. Strings orjson or
Arrow reject (lone surrogates, integers beyond 64 bits) take a slow path that repairs them, so one odd
value never costs a batch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
import pyarrow as pa
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from exporters._bounded_cache import BoundedCache
from exporters._sdk import SPAN_ATTRIBUTES, SPAN_EVENTS, SPAN_LINKS, plain_attributes, sequence_of
from exporters.eventlog import schema

_SQL_TO_ARROW: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    # Arrow's canonical JSON type: DuckDB takes it as JSON without re-parsing every value (a plain string
    # column is validated on insert). Every value this
    # module writes comes from orjson; a caller's plain-string column is still validated.
    "JSON": pa.json_(pa.string()),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "BIGINT[]": pa.list_(pa.int64()),
    "DOUBLE[]": pa.list_(pa.float64()),
}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table of ``exporters.eventlog.schema`` (column order as declared)."""
    return pa.schema([(name, _SQL_TO_ARROW[sql_type]) for name, sql_type in schema.TABLES[table]])


SPANS_ARROW = arrow_schema(schema.SPANS)
SPAN_EVENTS_ARROW = arrow_schema(schema.SPAN_EVENTS)
METRIC_POINTS_ARROW = arrow_schema(schema.METRIC_POINTS)
RESOURCES_ARROW = arrow_schema(schema.RESOURCES)

# Keyed by id(): hashing an Enum member runs Python code (Enum.__hash__), twice per span otherwise.
_KIND = {id(k): k.name for k in SpanKind}
_STATUS = {id(s): s.name for s in StatusCode}
_SERVER = SpanKind.SERVER
_HTTP_ROUTE = "http.route"
_EXCEPTION_EVENT = "exception"
_EXCEPTION_TYPE = "exception.type"
_RESOURCE_CACHE_MAX = 256
_INT64 = (-(2**63), 2**63 - 1)
_MISSING: Any = object()
_REDACTIONS_CACHE_MAX = 256
_REDACTIONS_SEEN: BoundedCache[str, bytes | None] = BoundedCache(_REDACTIONS_CACHE_MAX)
_REDACTIONS_CACHEABLE = 1024
# Attribute names read on every span, bound once (a module attribute lookup per use adds up).
_A_REDACTIONS = schema.ATTR_REDACTIONS
_A_CATEGORY = schema.ATTR_CATEGORY
_A_EVENT_TYPE = schema.ATTR_EVENT_TYPE
_A_ERROR_TYPE = schema.ATTR_ERROR_TYPE
_A_SESSION = schema.RESOURCE_SESSION_ID
_A_METRIC_NAME = schema.ATTR_METRIC_NAME
_A_METRIC_VALUE = schema.ATTR_METRIC_VALUE
_A_METRIC_UNIT = schema.ATTR_METRIC_UNIT

_dumps: Callable[[Any], bytes] = orjson.dumps


def clean(value: Any) -> Any:
    """A JSON-safe copy: lone surrogates replaced, huge integers and unknown types as text, non-finite
    floats as null (orjson turns NaN into null anyway; done here for the slow path's consistency)."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {clean(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return clean(str(value))


def to_json(value: Any) -> bytes:
    """orjson bytes; falls back to a cleaned copy for values orjson refuses."""
    try:
        return _dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return _dumps(clean(value))


def resource_id(resource_json: bytes) -> str:
    """The ``resources.resource_id`` of a resource's JSON text (schema migration 2 computes the same)."""
    return hashlib.md5(resource_json, usedforsecurity=False).hexdigest()[:16]


class ResourceCache:
    """Resource id, JSON and session id per ``Resource`` object (the SDK reuses one object per provider)."""

    def __init__(self) -> None:
        self._entries: BoundedCache[int, tuple[Resource, str, bytes, str | None]] = BoundedCache(_RESOURCE_CACHE_MAX)

    def get(self, resource: Resource | None) -> tuple[str | None, bytes | None, str | None]:
        """(resource id, JSON, session id); all None without a resource."""
        if resource is None:
            return None, None, None
        entry = self._entries.get(id(resource))
        if entry is None or entry[0] is not resource:
            entry = (resource, *resource_columns(resource.attributes))
            self._entries.put(id(resource), entry)
        return entry[1], entry[2], entry[3]


def resource_columns(attributes: Mapping[str, Any]) -> tuple[str, bytes, str | None]:
    """(resource id, JSON, session id) of a resource's attributes.

    Example::

        rid, text, session = resource_columns({"service.name": "app", "session.id": "s1"})
        # text == b'{"service.name":"app","session.id":"s1"}', session == "s1"
    """
    attrs = dict(attributes)
    session = attrs.get(schema.RESOURCE_SESSION_ID)
    text = to_json(attrs)
    return resource_id(text), text, None if session is None else str(session)


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _redactions(value: Any) -> bytes | None:
    """The anonymizer's JSON object of rule counts; anything else is not stored (not raw text either)."""
    if isinstance(value, str):
        # The same few rule-count objects repeat on most spans: parse and re-serialize each text once.
        hit = _REDACTIONS_SEEN.get(value, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[no-any-return]
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        out = to_json(parsed) if isinstance(parsed, dict) else None
        if len(value) <= _REDACTIONS_CACHEABLE:
            _REDACTIONS_SEEN.put(value, out)
        return out
    if isinstance(value, Mapping):
        return to_json(dict(value))
    return None


def _hex32(value: int) -> str:
    return value.to_bytes(16, "big").hex()


def _hex16(value: int) -> str:
    return value.to_bytes(8, "big").hex()


#: What :func:`span_columns` returns: kind and status names, the attributes without the redactions
#: attribute, the redactions (JSON bytes), category, event type, session id, error type, metric name,
#: value and unit.
SpanColumns = tuple[
    str, str, Mapping[str, Any], bytes | None, str | None, str | None, str | None, str | None, str | None,
    float | None, str | None,
]  # fmt: skip


def span_columns(
    name: str,
    kind: SpanKind,
    status_code: StatusCode,
    attrs: Mapping[str, Any],
    resource_session: str | None,
    events: Sequence[tuple[str, Mapping[str, Any]]],
) -> SpanColumns:
    """The columns the event log derives from a finished span's attributes and events (the lake takes the
    same, one implementation): the category (``http`` for a server span with a route, else ``span``,
    unless ``peft.category`` says), the event type (the span name unless ``peft.event_type`` says), the
    session (the span's, else its resource's), the error type (``peft.error_type``, else the first
    exception event's ``exception.type``) and the metric fields. ``events`` are ``(name, attributes)``.

    Example::

        span_columns("oom", SpanKind.INTERNAL, StatusCode.ERROR, {"peft.category": "error"}, None, ())[4]
        # "error"
    """
    if _A_REDACTIONS in attrs:
        attrs = dict(attrs)  # never change the span's own mapping
        redacted = _redactions(attrs.pop(_A_REDACTIONS))
    else:
        redacted = None
    get = attrs.get
    category = get(_A_CATEGORY)
    if category is None:
        category = "http" if kind is _SERVER and _HTTP_ROUTE in attrs else "span"
    event_type = get(_A_EVENT_TYPE)
    error_type = get(_A_ERROR_TYPE)
    span_session = get(_A_SESSION)
    if error_type is None:
        for ev_name, ev_attrs in events:
            if ev_name == _EXCEPTION_EVENT:
                error_type = ev_attrs.get(_EXCEPTION_TYPE)
                if error_type is not None:
                    break
    metric_name = get(_A_METRIC_NAME)
    metric_unit = get(_A_METRIC_UNIT)
    return (
        _KIND[id(kind)],
        _STATUS[id(status_code)],
        attrs,
        redacted,
        category if type(category) is str else _text(category),
        name if event_type is None else event_type if type(event_type) is str else _text(event_type),
        resource_session if span_session is None else _text(span_session),
        error_type if error_type is None or type(error_type) is str else _text(error_type),
        metric_name if metric_name is None or type(metric_name) is str else _text(metric_name),
        None if _A_METRIC_VALUE not in attrs else _number(get(_A_METRIC_VALUE)),
        metric_unit if metric_unit is None or type(metric_unit) is str else _text(metric_unit),
    )


Rows = list[tuple[Any, ...]]


def spans_to_arrow(spans: Sequence[ReadableSpan], resources: ResourceCache) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(spans, span_events, resources) tables for a batch, columns in ``schema`` order; the resources
    table holds each distinct resource of the batch once (the event log adds those it lacks)."""
    rows, event_rows, resource_rows = spans_to_rows(spans, resources)
    return (
        _from_rows(rows, SPANS_ARROW),
        _from_rows(event_rows, SPAN_EVENTS_ARROW) if event_rows else _NO_EVENTS,
        _from_rows(resource_rows, RESOURCES_ARROW),
    )


def spans_to_rows(spans: Sequence[ReadableSpan], resources: ResourceCache) -> tuple[Rows, Rows, Rows]:
    """The rows of :func:`spans_to_arrow`'s three tables, values in ``schema`` column order (JSON columns
    as orjson bytes): what the spool writes, Arrow being built once per merge.

    Example::

        spans, events, resource_rows = spans_to_rows(batch, ResourceCache())
    """
    rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    seen_resources: dict[str, tuple[str, int | None, bytes]] = {}
    add_row = rows.append
    add_event = event_rows.append
    last_resource: Any = _MISSING  # a batch almost always shares one Resource object: look it up once
    res: str | None = None
    session: str | None = None
    for span in spans:
        ctx = span.context
        # _hex32/_hex16 inlined: a Python call costs more than the conversion.
        trace_id = ctx.trace_id.to_bytes(16, "big").hex()
        span_id = ctx.span_id.to_bytes(8, "big").hex()
        parent = span.parent
        attrs = plain_attributes(getattr(span, SPAN_ATTRIBUTES, None))
        name = span.name
        kind = span.kind
        start = span.start_time
        end = span.end_time
        status = span.status
        resource = span.resource
        if resource is not last_resource:
            res, res_json, session = resources.get(resource)
            last_resource = resource
            if res is not None and res_json is not None and res not in seen_resources:
                seen_resources[res] = (res, start, res_json)
        scope = span.instrumentation_scope

        raw_events = getattr(span, SPAN_EVENTS, _MISSING)
        events = span.events if raw_events is _MISSING else sequence_of(raw_events)
        named = [(event.name, plain_attributes(event.attributes)) for event in events] if events else ()
        kind_name, status_name, attrs, redacted, category, event_type, session_id, error_type, metric_name, \
            metric_value, metric_unit = span_columns(name, kind, status.status_code, attrs, session, named)  # fmt: skip
        for seq, (event, (ev_name, ev_dict)) in enumerate(zip(events, named, strict=True)):
            add_event((trace_id, span_id, seq, ev_name, event.timestamp, to_json(ev_dict)))

        raw_links = getattr(span, SPAN_LINKS, _MISSING)
        links = span.links if raw_links is _MISSING else sequence_of(raw_links)
        links_json = (
            to_json(
                [
                    {
                        "trace_id": _hex32(link.context.trace_id),
                        "span_id": _hex16(link.context.span_id),
                        "attributes": plain_attributes(link.attributes),
                    }
                    for link in links
                ]
            )
            if links
            else None
        )
        add_row(
            (
                trace_id,
                span_id,
                None if parent is None else parent.span_id.to_bytes(8, "big").hex(),
                name,
                kind_name,
                start,
                end,
                (end - start) / 1e6 if start is not None and end is not None else None,
                status_name,
                status.description,
                category,
                event_type,
                session_id,
                error_type,
                metric_name,
                metric_value,
                metric_unit,
                to_json(attrs),
                res,
                None if scope is None else scope.name,
                None if scope is None else scope.version,
                redacted,
                links_json,
                span.dropped_attributes,
            )
        )
    return rows, event_rows, list(seen_resources.values())


def _from_rows(rows: list[tuple[Any, ...]], arrow: pa.Schema) -> pa.Table:
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in arrow]
    return build_table(columns, arrow)


def build_table(columns: Sequence[Sequence[Any]], arrow: pa.Schema) -> pa.Table:
    """Arrow table from column lists; text Arrow refuses (lone surrogates) is repaired, not fatal."""
    arrays = []
    for values, field in zip(columns, arrow, strict=True):
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowException, UnicodeError):
            arrays.append(pa.array([_repair(v) for v in values], type=field.type))
    return pa.Table.from_arrays(arrays, schema=arrow)


def _repair(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


# Most batches have no span events: their empty table is built once (Arrow tables are immutable).
_NO_EVENTS = _from_rows([], SPAN_EVENTS_ARROW)
