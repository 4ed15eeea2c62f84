"""Received OTLP spans straight into lake rows: protobuf -> checked plain values -> anonymized -> Arrow.

No SDK span is built. Each span takes the receiver's own checks (:func:`span_values`, the code that also
builds the receiver's SDK spans), the anonymizer's plain-data entry (:meth:`Anonymizer.scrub_span_data`,
the code that also scrubs SDK spans) and the event log's derived columns (:func:`span_columns`), so a lake
row is what the SDK road (convert -> ``scrub_span`` -> ``spans_to_arrow``) would have stored; a test
compares the two, column by column.

Resources and scopes repeat across requests (one per install and library): their checked, scrubbed form
is cached by their serialized bytes, in bounded caches. Results that hashed an identifier are not cached
(as in the anonymizer's own caches).

Privacy fails closed: a span whose scrubbing raises (or whose resource's or scope's does) is dropped and
counted, never stored raw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, NamedTuple

import pyarrow as pa
from opentelemetry.proto.trace.v1 import trace_pb2
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope

from exporters._bounded_cache import BoundedCache
from exporters.eventlog.arrow import build_table, resource_columns, span_columns, to_json
from exporters.lake import LAKE_SPANS_ARROW
from processors.anonymizer import Anonymizer, ScrubbedResource, ScrubbedScope, SpanData
from processors.anonymizer.rules import ID_HASHED
from telemetry.server.otlp_convert import Converted, Invalid
from telemetry.server.otlp_convert.common import guarded, resource_of, scope_of
from telemetry.server.otlp_convert.traces import span_values

_CACHE_LIMIT: Final = 256
NOT_ANONYMIZED: Final = "a span could not be anonymized"
_NOT_CONVERTED: Final = "an item could not be converted"
#: Lake columns filled per request by the caller, after conversion.
_LATER: Final = ("received_ns", "hub_id")
_REJECTED: Final = object()
_COLUMNS: Final = tuple(name for name in LAKE_SPANS_ARROW.names if name not in _LATER)


class _Resource(NamedTuple):
    scrubbed: ScrubbedResource
    json: str
    session: str | None
    app_version: str | None
    os_type: str | None


@dataclass
class Rows:
    """One request's converted spans, a tuple per row in ``_COLUMNS`` order, and what was refused."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejected: int = 0
    reasons: set[str] = field(default_factory=set)
    not_anonymized: int = 0
    queued: bool = False  # handed to the group commit (HubIngest)

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        self.reasons.add(reason)

    @property
    def share_ids(self) -> list[str]:
        return [row[0] for row in self.rows]

    def table(self, received_ns: int, hub_id: str) -> pa.Table:
        """The rows as a table in the lake's schema."""
        columns: list[Any] = list(zip(*self.rows, strict=True)) if self.rows else [() for _ in _COLUMNS]
        count = len(self.rows)
        by_name = dict(zip(_COLUMNS, columns, strict=True))
        by_name.update(received_ns=[received_ns] * count, hub_id=[hub_id] * count)
        return build_table([by_name[name] for name in LAKE_SPANS_ARROW.names], LAKE_SPANS_ARROW)


class LakeRows:
    """Converts the spans of ``ResourceSpans`` messages into lake rows. Thread-safe (caches are bounded dicts
    whose entries are added whole; the anonymizer is thread-safe).

    Example::

        rows = Rows()
        LakeRows(anonymizer).add(request.resource_spans[0], install_id, rows)
        table = rows.table(time.time_ns(), hub_id)
    """

    def __init__(self, anonymizer: Anonymizer) -> None:
        self.anonymizer = anonymizer
        self._resources: BoundedCache[bytes, _Resource] = BoundedCache(_CACHE_LIMIT)
        self._scopes: BoundedCache[bytes, ScrubbedScope] = BoundedCache(_CACHE_LIMIT)

    def add(self, resource_spans: trace_pb2.ResourceSpans, owner: str | None, out: Rows) -> None:
        """Every span of ``resource_spans`` (its install id already taken out) as a row of ``out``; the
        rejections of this resource are reported as one reason, as the receiver's ``convert_traces`` does."""
        checked = Converted()
        resource = self._resource(resource_spans, checked)
        if resource is not _REJECTED:
            for scope_spans in resource_spans.scope_spans:
                scope = self._scope(scope_spans, checked)
                if scope is not _REJECTED:
                    self._spans(scope_spans.spans, owner, resource, scope, checked, out)
        if checked.rejected:
            out.reject(checked.rejected, checked.message)

    def _spans(self, spans: Any, owner: str | None, resource: Any, scope: Any, checked: Converted, out: Rows) -> None:
        scrub = self.anonymizer.scrub_span_data
        add = out.rows.append
        md5 = hashlib.md5
        # Not usable: the anonymizer failed on the resource or the scope, so every valid span is dropped.
        usable = isinstance(resource, _Resource) and isinstance(scope, ScrubbedScope)
        for span in spans:
            # The receiver's checks and rejection reasons (``guarded``), inline: this runs for every span.
            try:
                trace_id, span_id, parent, _, state, name, kind, start, end, attributes, events, links, code, \
                    message = span_values(span)  # fmt: skip
            except Invalid as exc:
                checked.reject(1, str(exc))
                continue
            except Exception:
                checked.reject(1, _NOT_CONVERTED)
                continue
            try:
                if not usable:
                    raise ValueError("the span's resource or scope could not be anonymized")
                data = SpanData(
                    name,
                    attributes,
                    [(event_name, attrs) for event_name, attrs, _ in events] if events else (),
                    [(None, attrs) for _, _, attrs in links] if links else (),
                    message,
                    state,
                )
                clean = scrub(data, resource.scrubbed, scope)
                kind_name, status_name, attrs, redacted, category, event_type, session, error_type, metric_name, \
                    metric_value, metric_unit = span_columns(clean.name, kind, code, clean.attributes,
                                                             resource.session, clean.events)  # fmt: skip
                attrs_json = to_json(attrs).decode()
            except Exception:
                # Privacy fails closed: a span the anonymizer could not handle is not stored.
                out.not_anonymized += 1
                out.reject(1, NOT_ANONYMIZED)
                continue
            trace_hex, span_hex = trace_id.hex(), span_id.hex()
            add((
                md5(f"{owner}:{trace_hex}:{span_hex}".encode(), usedforsecurity=False).hexdigest(), owner,
                trace_hex, span_hex, None if parent is None else parent.hex(), clean.name, kind_name, start, end,
                (end - start) / 1e6, status_name, clean.status_message, category, event_type, session, error_type,
                metric_name, metric_value, metric_unit, attrs_json, resource.json, scope.name, scope.version,
                redacted, resource.app_version, resource.os_type,
            ))  # fmt: skip

    def _resource(self, resource_spans: trace_pb2.ResourceSpans, checked: Converted) -> Any:
        """The resource checked and scrubbed (a ``_Resource``), cached by its bytes; :data:`_REJECTED` when it
        fails the checks (its spans are rejected), None when the anonymizer failed on it."""
        key = resource_spans.resource.SerializeToString() + b"\x00" + resource_spans.schema_url.encode()
        hit = self._resources.get(key)
        if hit is not None:
            return hit
        build = partial(resource_of, resource_spans.resource, resource_spans.schema_url)
        resource: Resource | None = guarded(checked, _span_count(resource_spans), build)
        if resource is None:
            return _REJECTED
        try:
            scrubbed = self.anonymizer.scrub_resource_data(resource.attributes, resource.schema_url)
            _, text, session = resource_columns(scrubbed.attributes)
        except Exception:
            return None
        entry = _Resource(scrubbed, text.decode(), session, *_resource_facts(scrubbed.attributes))
        if _cacheable(scrubbed.counts):
            self._resources.put(key, entry)
        return entry

    def _scope(self, scope_spans: trace_pb2.ScopeSpans, checked: Converted) -> Any:
        """Like :meth:`_resource`, for an instrumentation scope (a ``ScrubbedScope``)."""
        key = scope_spans.scope.SerializeToString() + b"\x00" + scope_spans.schema_url.encode()
        hit = self._scopes.get(key)
        if hit is not None:
            return hit
        build = partial(scope_of, scope_spans.scope, scope_spans.schema_url)
        scope: SdkScope | None = guarded(checked, len(scope_spans.spans), build)
        if scope is None:
            return _REJECTED
        try:
            scrubbed = self.anonymizer.scrub_scope_data(scope.name, scope.version, scope.schema_url, scope.attributes)
        except Exception:
            return None
        if _cacheable(scrubbed.counts):
            self._scopes.put(key, scrubbed)
        return scrubbed


def _cacheable(counts: tuple[tuple[str, int], ...]) -> bool:
    """Results that hashed an identifier are not kept: hashes change when the secret rotates."""
    return not any(rule == ID_HASHED for rule, _ in counts)


def _span_count(resource_spans: trace_pb2.ResourceSpans) -> int:
    return sum(len(scope_spans.spans) for scope_spans in resource_spans.scope_spans)


def _resource_facts(attributes: dict[str, Any]) -> tuple[str | None, str | None]:
    """The app version and OS type of the fleet view (text values only)."""
    version, os_type = attributes.get("service.version"), attributes.get("os.type")
    return (version if isinstance(version, str) else None, os_type if isinstance(os_type, str) else None)
