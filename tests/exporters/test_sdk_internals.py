"""Pins the OpenTelemetry SDK internals ``exporters/_sdk.py`` reads, against the installed SDK: if a
release moves one, this fails first (and the exporters still give the same rows the public way)."""

from __future__ import annotations

from collections import deque

from _exporter_helpers import recording_provider
from opentelemetry.trace import Link

from exporters._sdk import SPAN_ATTRIBUTES, SPAN_EVENTS, SPAN_LINKS, plain_attributes, sequence_of


def _finished_span() -> object:
    with recording_provider(None) as (provider, memory):
        tracer = provider.get_tracer("pin")
        with tracer.start_as_current_span("linked") as other:
            pass
        span = tracer.start_span("op", attributes={"a": 1, "b": "x"}, links=[Link(other.get_span_context(), {"k": 1})])
        span.add_event("first", {"e": 1})
        span.add_event("second")
        span.end()
        return memory.get_finished_spans()[-1]


def test_the_span_keeps_its_attributes_as_a_plain_dict_inside() -> None:
    span = _finished_span()
    raw = getattr(span, SPAN_ATTRIBUTES)
    inner = raw._dict
    assert type(inner) is dict and inner == dict(span.attributes)  # type: ignore[attr-defined]
    assert plain_attributes(raw) is inner  # the fast path is taken, nothing copied
    assert plain_attributes(dict(inner)) == inner and plain_attributes(None) == {}


def test_the_span_keeps_its_events_and_links_in_deques_inside() -> None:
    span = _finished_span()
    for slot, public in ((SPAN_EVENTS, span.events), (SPAN_LINKS, span.links)):  # type: ignore[attr-defined]
        raw = getattr(span, slot)
        assert type(raw._dq) is deque and tuple(raw._dq) == tuple(public)
        assert sequence_of(raw) is raw._dq
    assert [e.name for e in sequence_of(getattr(span, SPAN_EVENTS))] == ["first", "second"]
    assert sequence_of(None) == () and sequence_of(()) == ()
