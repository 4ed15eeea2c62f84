"""The few places where processors depend on the OpenTelemetry SDK's internals, in one module.

Everything here reads or builds a ``ReadableSpan`` faster than the public API allows, and every use is
pinned by a test (tests/privacy/test_processors.py checks ``ReadableSpan``'s parameter order) so an SDK
release that changes them fails a test instead of swapping fields:

* :func:`build_span` passes ``ReadableSpan``'s arguments positionally (keyword passing is measurably slower
  on the export worker's hot path; bench/README.md has the figures);
* :func:`attribute_map` reads the plain dict behind a span's attributes (the public property wraps the SDK's
  ``BoundedAttributes`` in a ``MappingProxyType`` whose per-key access runs Python code);
* :func:`dropped_counts` tells a plain span that dropped nothing without three ``isinstance`` checks.

Invariant: nothing here mutates a span; every read falls back to the public API when the private shape is
not the expected one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status

NOTHING_DROPPED: Final = (0, 0, 0)
_PLAIN_SEQUENCES: Final = (tuple, list)

#: ReadableSpan's first parameters, in the order :func:`build_span` passes them (a test compares).
READABLE_SPAN_PARAMETERS: Final = (
    "name", "context", "parent", "resource", "attributes", "events", "links", "kind",
    "instrumentation_info", "status", "start_time", "end_time", "instrumentation_scope",
)  # fmt: skip


class ScrubbedSpan(ReadableSpan):
    """A rebuilt span that still reports how many attributes, events and links the SDK had dropped (only
    built when it dropped something: a plain ``ReadableSpan`` reports zero by itself)."""

    def __init__(self, dropped: tuple[int, int, int], *args: Any) -> None:
        super().__init__(*args)
        self._dropped_counts = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_counts[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped_counts[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped_counts[2]


def build_span(
    name: str,
    context: SpanContext | None,
    parent: SpanContext | None,
    resource: Resource,
    attributes: Mapping[str, Any],
    events: Sequence[Event],
    links: Sequence[Link],
    kind: SpanKind,
    status: Status,
    start_time: int | None,
    end_time: int | None,
    scope: InstrumentationScope | None,
    dropped: tuple[int, int, int] = NOTHING_DROPPED,
) -> ReadableSpan:
    """A new finished span; a :class:`ScrubbedSpan` when ``dropped`` is not all zero."""
    args = (name, context, parent, resource, attributes, events, links, kind, None, status,
            start_time, end_time, scope)  # fmt: skip
    if dropped == NOTHING_DROPPED:
        return ReadableSpan(*args)
    return ScrubbedSpan(dropped, *args)


def attribute_map(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes as the plain dict the SDK keeps (read only), else the public property."""
    raw = getattr(span, "_attributes", None)
    if type(raw) is dict:
        return raw
    inner = getattr(raw, "_dict", None)
    if type(inner) is dict and isinstance(raw, BoundedAttributes):
        return inner
    return span.attributes or {}


def dropped_counts(span: ReadableSpan) -> tuple[int, int, int]:
    """What the SDK dropped; a plain ``ReadableSpan`` over plain containers (every materialized
    ``track_*`` event) dropped nothing, which is known without three ``isinstance`` checks against ABCs."""
    if (
        type(span) is ReadableSpan
        and type(getattr(span, "_attributes", None)) is dict
        and type(getattr(span, "_events", None)) in _PLAIN_SEQUENCES
        and type(getattr(span, "_links", None)) in _PLAIN_SEQUENCES
    ):
        return NOTHING_DROPPED
    return (span.dropped_attributes, span.dropped_events, span.dropped_links)
