"""Rebuilding a finished span with every stored string scrubbed; the same on a span's plain data.

One implementation (:meth:`SpanScrubber._scrub`) takes a span's parts as plain values: :meth:`SpanScrubber.scrub`
feeds it an SDK ``ReadableSpan``'s parts and rebuilds the span, :meth:`SpanScrubber.scrub_data` (the hub,
which never builds SDK spans) feeds it :class:`~.spandata.SpanData`. Resources and scopes likewise
(:meth:`SpanScrubber.resource_data`, :meth:`SpanScrubber.scope_data`).

A ``ReadableSpan`` is immutable, so we build a new one (never touching the input): name, attributes, events
(exception message cut to its first line, stack trace reduced), status description, links' attributes,
resource attributes and instrumentation scope (name and attributes). Resources and scopes are shared by
every span of a provider, so their scrubbed copies are cached per object.

The dropped-attribute/event/link counts of the original survive (a subclass reports them), because the
event log stores them and a fresh ``ReadableSpan`` would report zero. A span that lost nothing (every
``track_*`` event) is rebuilt as a plain ``ReadableSpan``, with ``()`` for no events or links: the rebuilt
spans of a batch wait in memory until it is written, and every container they hold is one more object
for the garbage collector to promote and scan (bench/README.md, "Pipeline end to end", has the figures).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar, cast

import orjson
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, Status, TraceState

from processors._bounded_cache import BoundedCache

from .._sdk import attribute_map, build_span, dropped_counts
from .declared import Declared, EventDeclarations
from .detectors import Counts, Scanner, count
from .mapcache import MapCache
from .spandata import RuleCounts, ScrubbedResource, ScrubbedScope, ScrubbedSpanData, SpanData
from .stacktrace import first_line, scrub_stacktrace
from .structures import Special, Walker

_Context = TypeVar("_Context", SpanContext, SpanContext | None)
_CACHE_LIMIT: Final = 64
#: Longest span or event name stored (cut at a token boundary, after scrubbing).
MAX_NAME_LENGTH: Final = 128
#: Spans without events or links share this empty tuple (no allocation).
_NONE: Final[tuple[()]] = ()


class SpanScrubber:
    """Owns the span-shaped parts of the engine (and the per-resource / per-scope caches)."""

    def __init__(
        self,
        scanner: Scanner,
        walker: Walker,
        redactions_key: str,
        known_rules: frozenset[str],
        catalog: EventDeclarations | None = None,
        event_type_key: str = "peft.event_type",
        category_key: str = "peft.category",
    ) -> None:
        self._known_rules = known_rules
        self._scan = scanner
        self._walk = walker
        self.redactions_key = redactions_key
        self._catalog = catalog
        self._event_type_key = event_type_key
        self._category_key = category_key
        self._lock = threading.Lock()
        # Keyed by id() and checked by identity on a hit: a recycled id never returns another object's result.
        self._resources: BoundedCache[int, tuple[Resource, Resource, RuleCounts]] = BoundedCache(_CACHE_LIMIT)
        self._scopes: BoundedCache[int, tuple[InstrumentationScope, InstrumentationScope, RuleCounts]] = BoundedCache(
            _CACHE_LIMIT
        )
        self.attribute_maps = MapCache()
        self.event_special: Special = {
            "exception.message": self._message,
            "exception.stacktrace": self._stacktrace,
            "exception.type": self._exception_type,
        }

    def _optional_text(self, value: str | None, counts: Counts) -> str | None:
        return self._walk.text(value, counts) if value else value

    def _trace_state(self, state: TraceState | None, counts: Counts) -> TraceState | None:
        """The trace state without the entries that scrubbing changes (a trace state's keys and values have
        a strict syntax, and a marker is not worth one); the same object when every entry is kept."""
        if not state:
            return state
        kept = []
        for key, value in state.items():
            if self._walk.text(key, counts) == key and self._walk.text(value, counts) == value:
                kept.append((key, value))
        return state if len(kept) == len(state) else TraceState(kept)

    @staticmethod
    def _context(context: _Context, state: TraceState | None) -> _Context:
        if context is None or state is context.trace_state:
            return context
        clean = SpanContext(context.trace_id, context.span_id, context.is_remote, context.trace_flags, state)
        return cast(_Context, clean)

    def _name(self, name: str, counts: Counts) -> str:
        """Span and event names are cut to MAX_NAME_LENGTH after scrubbing (never before)."""
        return name if len(name) <= MAX_NAME_LENGTH else self._scan.limit(name, counts, MAX_NAME_LENGTH)

    def _message(self, value: str, counts: Counts) -> str:
        return self._walk.text(first_line(value, counts), counts)

    def _stacktrace(self, value: str, counts: Counts) -> str:
        return scrub_stacktrace(self._scan, value, counts, self._walk.text)

    def _exception_type(self, value: str, counts: Counts) -> str:
        # Scrubbed like any text even when shaped like an identifier: a base64 token or a user name is one
        # too. Types that are code pass the free-text policy unchanged (and repeat: the text cache has them).
        return self._walk.text(value, counts)

    # --- resources and scopes ----------------------------------------------------------------------------
    def resource_data(self, attributes: Mapping[str, Any] | None, schema_url: str | None) -> ScrubbedResource:
        local: Counts = {}
        attrs = self._walk.attributes(attributes, local, allowlist=False)
        return ScrubbedResource(attrs, self._optional_text(schema_url, local), tuple(local.items()))

    def scope_data(
        self, name: str, version: str | None, schema_url: str | None, attributes: Mapping[str, Any] | None
    ) -> ScrubbedScope:
        local: Counts = {}
        text = self._walk.text
        clean_name = text(name, local)
        clean_version = text(version, local) if version else version
        clean_url = self._optional_text(schema_url, local)
        attrs = self._walk.attributes(attributes, local, allowlist=False)
        return ScrubbedScope(clean_name, clean_version, clean_url, attrs, tuple(local.items()))

    def resource(self, resource: Resource, counts: Counts) -> Resource:
        hit = self._resources.get(id(resource))
        if hit is None or hit[0] is not resource:
            data = self.resource_data(resource.attributes, resource.schema_url)
            hit = (resource, Resource(data.attributes, data.schema_url), data.counts)
            with self._lock:
                self._resources.put(id(resource), hit)
        for rule, n in hit[2]:
            count(counts, rule, n)
        return hit[1]

    def scope(self, scope: InstrumentationScope | None, counts: Counts) -> InstrumentationScope | None:
        if scope is None:
            return None
        hit = self._scopes.get(id(scope))
        if hit is None or hit[0] is not scope:
            data = self.scope_data(scope.name, scope.version, scope.schema_url, scope.attributes)
            clean = InstrumentationScope(data.name, data.version, data.schema_url, data.attributes)
            hit = (scope, clean, data.counts)
            with self._lock:
                self._scopes.put(id(scope), hit)
        for rule, n in hit[2]:
            count(counts, rule, n)
        return hit[1]

    def clear_caches(self) -> None:
        with self._lock:
            self._resources.clear()
            self._scopes.clear()
        self.attribute_maps.clear()

    # --- spans -------------------------------------------------------------------------------------------
    @staticmethod
    def _bounded(clean: dict[str, Any], dropped: int) -> Any:
        """Scrubbed attributes that still report what the SDK had dropped."""
        if dropped:
            bounded = BoundedAttributes(maxlen=None, attributes=clean, immutable=True)
            bounded.dropped = dropped
            return bounded
        return clean

    def _span_attributes(self, attrs: Mapping[str, Any], counts: Counts) -> dict[str, Any]:
        return self._walk.attributes(attrs, counts, skip=self.redactions_key, declared=self._declared(attrs))

    def _declared(self, attrs: Mapping[str, Any]) -> Declared | None:
        """The catalog entry that applies to a ``track_event`` span (None for other spans)."""
        if self._catalog is None or attrs.get(self._category_key) != "event":
            return None
        return self._catalog.for_event(attrs.get(self._event_type_key))

    def scrub_data(self, data: SpanData, counts: Counts) -> ScrubbedSpanData:
        """:meth:`scrub` for plain data. ``counts`` arrives holding the resource's and scope's rule counts;
        the redactions attribute is set from the total."""
        return ScrubbedSpanData(*self._scrub(*data, counts), counts)

    def _scrub(
        self,
        name: str,
        raw_attrs: Mapping[str, Any] | None,
        raw_events: Sequence[tuple[str, Mapping[str, Any] | None]],
        raw_links: Sequence[tuple[TraceState | None, Mapping[str, Any] | None]],
        message: str | None,
        state: TraceState | None,
        counts: Counts,
    ) -> tuple[str, dict[str, Any], Sequence[Any], Sequence[Any], str | None, TraceState | None]:
        """The one implementation behind both roads (SDK spans and plain data): positional, plain tuples in
        and out, because the SDK road runs it for every span on the export worker."""
        # Names and messages go through the walker's cache: they repeat far more than they vary.
        text = self._walk.text
        name = self._name(text(name, counts), counts)
        attributes = self.attribute_maps.scrub(raw_attrs, counts, self._span_attributes) if raw_attrs else {}
        events: Sequence[Any] = (
            [
                (self._name(text(event_name, counts), counts), self._walk.attributes(attrs, counts, self.event_special))
                for event_name, attrs in raw_events
            ]
            if raw_events
            else _NONE
        )
        links: Sequence[Any] = (
            [
                (self._trace_state(link_state, counts), self._walk.attributes(attrs, counts))
                for link_state, attrs in raw_links
            ]
            if raw_links
            else _NONE
        )
        if message:
            message = text(first_line(message, counts), counts)
        if state:
            state = self._trace_state(state, counts)
        _merge_previous(raw_attrs, self.redactions_key, counts, self._known_rules)
        if counts:
            attributes[self.redactions_key] = orjson.dumps(counts, option=orjson.OPT_SORT_KEYS).decode()
        return name, attributes, events, links, message, state

    def scrub(self, span: ReadableSpan) -> ReadableSpan:
        counts: Counts = {}
        resource = self.resource(span.resource, counts)
        scope = self.scope(span.instrumentation_scope, counts)
        raw_events, raw_links, status, context = span.events, span.links, span.status, span.context
        state = None if context is None else context.trace_state
        name, attributes, clean_events, clean_links, message, clean_state = self._scrub(
            span.name,
            attribute_map(span),
            [(event.name, event.attributes) for event in raw_events] if raw_events else _NONE,
            [(link.context.trace_state if link.context else None, link.attributes) for link in raw_links]
            if raw_links
            else _NONE,
            status.description,
            state,
            counts,
        )
        # The shared empty tuple for no events or links: no allocation, and nothing for the GC to track.
        events: Sequence[Event] = (
            [
                Event(event_name, self._bounded(attrs, event.dropped_attributes), event.timestamp)
                for (event_name, attrs), event in zip(clean_events, raw_events, strict=True)
            ]
            if raw_events
            else ()
        )
        links: Sequence[Link] = (
            [
                Link(self._context(link.context, link_state), self._bounded(attrs, link.dropped_attributes))
                for (link_state, attrs), link in zip(clean_links, raw_links, strict=True)
            ]
            if raw_links
            else ()
        )
        if status.description:
            status = Status(status.status_code, message)
        if clean_state is not state:
            context = self._context(context, clean_state)
        return build_span(
            name, context, span.parent, resource, attributes, events, links, span.kind, status,
            span.start_time, span.end_time, scope, dropped_counts(span),
        )  # fmt: skip


def _merge_previous(attrs: Mapping[str, Any] | None, key: str, counts: Counts, known: frozenset[str]) -> None:
    """A span scrubbed twice keeps the first pass's accounting.

    Only known rule ids with positive int counts are taken: the attribute may come from app code, and
    anything else in it would be stored unscrubbed.
    """
    if not attrs or key not in attrs:
        return
    try:
        previous = orjson.loads(attrs[key])
    except (orjson.JSONDecodeError, TypeError):
        return
    if isinstance(previous, dict):
        for rule, n in previous.items():
            if rule in known and type(n) is int and 0 < n < 2**31:
                count(counts, rule, n)
