"""Event log rows to OTLP/JSON request objects, built by hand (``MessageToJson`` is much slower and
writes ids in base64, which OTLP/JSON forbids).

Python's cyclic garbage collector runs once per ~700 new container objects; a line of 512 spans held as nested
dicts keeps ~20,000 of them alive, and each collection walks them all, which slows the encoder severalfold in
a process with many objects (figures in ``bench/README.md``). So each span, event and data point is serialized
by orjson as soon as it is built and kept as an ``orjson.Fragment`` (bytes, not tracked by the collector);
attribute lists are joined from cached, pre-serialized ``KeyValue`` snippets, since the same key/value pairs
repeat across events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from exporters._otlp_read import EventsOfChunk
from exporters.eventlog import schema

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_KV_CACHE_MAX = 65_536
_KIND = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}
_TEMPORALITY = {"DELTA": 1, "CUMULATIVE": 2}
_Fragment = orjson.Fragment
_dumps = orjson.dumps

SPAN_FIELDS = [
    "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns", "status_code",
    "status_message", "attributes", "resource", "scope_name", "scope_version", "redactions", "links",
    "dropped_attributes",
]  # fmt: skip


def finite(value: Any) -> bool:
    """Not None, NaN or an infinity (``x - x`` is NaN for both)."""
    return value is not None and value - value == 0


def any_value(value: Any) -> dict[str, Any] | None:
    """OTLP AnyValue for a JSON-decoded value; None drops it (null, non-finite)."""
    kind = type(value)
    if kind is str:
        return {"stringValue": value}
    if kind is bool:
        return {"boolValue": value}
    if kind is int:
        return {"intValue": str(value)} if _INT64_MIN <= value <= _INT64_MAX else {"stringValue": str(value)}
    if kind is float:
        return {"doubleValue": value} if finite(value) else None
    if kind is list:
        return {"arrayValue": {"values": [any_value(v) or {} for v in value]}}
    if kind is dict:
        return {"kvlistValue": {"values": [{"key": k, "value": any_value(v) or {}} for k, v in value.items()]}}
    return None


def _key_value(key: str, value: Any) -> bytes | None:
    encoded = any_value(value)
    return None if encoded is None else _dumps({"key": key, "value": encoded})


class Encoder:
    """One export's caches: serialized KeyValues by (key, value, type) and resources by their JSON."""

    def __init__(self) -> None:
        # A plain dict with the "clear when full" check inline, not BoundedCache: this is the export's
        # innermost loop, and a method call per miss costs more than the inline check (bench/README.md).
        self._kv: dict[tuple[str, Any, type], bytes | None] = {}
        self._resources: dict[str | None, orjson.Fragment] = {}

    def key_values(self, attributes: dict[str, Any], extra: bytes | None = None) -> orjson.Fragment | None:
        cache = self._kv
        parts = []
        for key, value in attributes.items():
            kind = type(value)
            if kind is list or kind is dict:
                encoded = _key_value(key, value)
            else:
                # The type is part of the key: ("x", 1), ("x", 1.0) and ("x", True) are equal tuples.
                slot = (key, value, kind)
                encoded = cache.get(slot, b"")
                if encoded == b"":
                    encoded = _key_value(key, value)
                    if len(cache) >= _KV_CACHE_MAX:
                        cache.clear()
                    cache[slot] = encoded
            if encoded is not None:
                parts.append(encoded)
        if extra is not None:
            parts.append(extra)
        return _Fragment(b"[" + b",".join(parts) + b"]") if parts else None

    def json_key_values(self, text: str | None, extra: bytes | None = None) -> orjson.Fragment | None:
        decoded = orjson.loads(text) if text else None
        return self.key_values(decoded if type(decoded) is dict else {}, extra)

    def resource(self, text: str | None) -> orjson.Fragment:
        found = self._resources.get(text)
        if found is None:
            attributes = self.json_key_values(text)
            found = self._resources[text] = _Fragment(_dumps({"attributes": attributes} if attributes else {}))
        return found


class Grouped:
    """Items of one output line under resource and scope, in first-seen order."""

    def __init__(self, encoder: Encoder) -> None:
        self._encoder = encoder
        self._groups: dict[tuple[str | None, str | None, str | None], list[Any]] = {}

    def add(self, resource: str | None, scope_name: str | None, scope_version: str | None, item: Any) -> None:
        key = (resource, scope_name, scope_version)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = []
        group.append(item)

    def build(self, scoped_key: str, items_key: str) -> list[dict[str, Any]]:
        by_resource: dict[str | None, list[dict[str, Any]]] = {}
        for (resource, scope_name, scope_version), items in self._groups.items():
            scope = {"name": scope_name} if scope_name else {}
            if scope_version:
                scope["version"] = scope_version
            by_resource.setdefault(resource, []).append({"scope": scope, items_key: items})
        return [
            {"resource": self._encoder.resource(resource), scoped_key: scoped}
            for resource, scoped in by_resource.items()
        ]


def _links(encoder: Encoder, text: str) -> list[orjson.Fragment]:
    out = []
    for link in orjson.loads(text):
        encoded: dict[str, Any] = {"traceId": link.get("trace_id"), "spanId": link.get("span_id")}
        attributes = link.get("attributes")
        if type(attributes) is dict:
            key_values = encoder.key_values(attributes)
            if key_values is not None:
                encoded["attributes"] = key_values
        out.append(_Fragment(_dumps(encoded)))
    return out


def span_lines(
    rows: list[list[Any]], events: EventsOfChunk, batch_size: int, encoder: Encoder
) -> Iterator[tuple[dict[str, Any], int, int]]:
    """(ExportTraceServiceRequest dict, spans, events) per line; ``rows`` are columns in SPAN_FIELDS order."""
    group = Grouped(encoder)
    in_line = n_events = 0
    for (trace_id, span_id, parent, name, kind, start, end, code, message, attrs, resource, scope_name,
         scope_version, redactions, links, dropped) in zip(*rows, strict=True):  # fmt: skip
        span: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": span_id,
            "name": name,
            "kind": _KIND.get(kind, 0),
        }
        if parent:
            span["parentSpanId"] = parent
        if start is not None:
            span["startTimeUnixNano"] = str(start)
        if end is not None:
            span["endTimeUnixNano"] = str(end)
        extra = _key_value(schema.ATTR_REDACTIONS, redactions) if redactions else None
        key_values = encoder.json_key_values(attrs, extra)
        if key_values is not None:
            span["attributes"] = key_values
        if dropped:
            span["droppedAttributesCount"] = dropped
        span_events = events.get((trace_id, span_id))
        if span_events:
            span["events"] = [_event(encoder, *event) for event in span_events]
            n_events += len(span_events)
        if links:
            span["links"] = _links(encoder, links)
        span["status"] = (
            {"code": _STATUS.get(code, 0), "message": message} if message else {"code": _STATUS.get(code, 0)}
        )
        group.add(resource, scope_name, scope_version, _Fragment(_dumps(span)))
        in_line += 1
        if in_line == batch_size:
            yield {"resourceSpans": group.build("scopeSpans", "spans")}, in_line, n_events
            group = Grouped(encoder)
            in_line = n_events = 0
    if in_line:
        yield {"resourceSpans": group.build("scopeSpans", "spans")}, in_line, n_events


def _event(encoder: Encoder, time_ns: int, name: str, attributes: str | None) -> orjson.Fragment:
    event: dict[str, Any] = {"timeUnixNano": str(time_ns), "name": name}
    key_values = encoder.json_key_values(attributes)
    if key_values is not None:
        event["attributes"] = key_values
    return _Fragment(_dumps(event))


def _point(encoder: Encoder, kind: str, row: dict[str, Any]) -> orjson.Fragment:
    point: dict[str, Any] = {}
    key_values = encoder.json_key_values(row["attributes"])
    if key_values is not None:
        point["attributes"] = key_values
    if row["start_ns"] is not None:
        point["startTimeUnixNano"] = str(row["start_ns"])
    if row["time_ns"] is not None:
        point["timeUnixNano"] = str(row["time_ns"])
    # The writer stores non-finite numbers as NULL; rows appended by other code are checked again here.
    if kind in ("gauge", "sum"):
        if finite(row["value"]):
            point["asDouble"] = row["value"]
        return _Fragment(_dumps(point))
    point["count"] = str(row["count"] or 0)
    for field in ("sum", "min", "max"):
        if finite(row[field]):
            point[field] = row[field]
    bounds = row["explicit_bounds"] or []
    if row["bucket_counts"] and all(finite(b) for b in bounds):
        point["bucketCounts"] = [str(c) for c in row["bucket_counts"]]
        point["explicitBounds"] = list(bounds)
    return _Fragment(_dumps(point))


def metric_lines(
    names: list[str], rows: list[list[Any]], batch_size: int, encoder: Encoder
) -> Iterator[tuple[dict[str, Any], int]]:
    """(ExportMetricsServiceRequest dict, points) per line; points of one metric identity are merged."""
    group = Grouped(encoder)
    metrics: dict[tuple[Any, ...], list[Any]] = {}
    in_line = 0
    for values in zip(*rows, strict=True):
        row = dict(zip(names, values, strict=True))
        kind = row["kind"]
        ident = (row["resource"], row["scope_name"], row["scope_version"], row["name"], row["description"],
                 row["unit"], kind, row["temporality"], row["is_monotonic"])  # fmt: skip
        points = metrics.get(ident)
        if points is None:
            points = metrics[ident] = []
            metric: dict[str, Any] = {"name": row["name"]}
            if row["description"]:
                metric["description"] = row["description"]
            if row["unit"]:
                metric["unit"] = row["unit"]
            body: dict[str, Any] = {"dataPoints": points}
            if kind != "gauge":
                body["aggregationTemporality"] = _TEMPORALITY.get(row["temporality"], 0)
            if kind == "sum":
                body["isMonotonic"] = bool(row["is_monotonic"])
            # Exponential histograms are stored without their buckets: exported as plain histograms.
            metric["gauge" if kind == "gauge" else "sum" if kind == "sum" else "histogram"] = body
            group.add(row["resource"], row["scope_name"], row["scope_version"], metric)
        points.append(_point(encoder, kind, row))
        in_line += 1
        if in_line == batch_size:
            yield {"resourceMetrics": group.build("scopeMetrics", "metrics")}, in_line
            group, metrics, in_line = Grouped(encoder), {}, 0
    if in_line:
        yield {"resourceMetrics": group.build("scopeMetrics", "metrics")}, in_line
