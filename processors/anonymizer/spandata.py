"""A span's storable parts as plain data: what the anonymizer scrubs, with or without SDK objects.

:meth:`Anonymizer.scrub_span` (SDK ``ReadableSpan`` in and out) and :meth:`Anonymizer.scrub_span_data`
(plain values in and out, for the hub, which never builds SDK spans) run the one implementation in
:mod:`.spans` on these shapes, so both roads store the same thing.

Example::

    data = SpanData("training_started", {"model_name": "llama-2-7b", "email": "a@b.c"})
    clean = anonymizer.scrub_span_data(data, anonymizer.scrub_resource_data({"service.name": "app"}, None))
    clean.attributes  # {"model_name": "llama-2-7b", "peft.redactions": '{"key.email":1}'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from opentelemetry.trace import TraceState

#: Rule counts as stored with a cached result: ``((rule_id, count), ...)``.
RuleCounts = tuple[tuple[str, int], ...]


class SpanData(NamedTuple):
    """A span's strings and maps. ``events`` are ``(name, attributes)`` pairs, ``links`` are ``(trace state,
    attributes)`` pairs, ``status_message`` the status description (None when there is none)."""

    name: str
    attributes: Mapping[str, Any] | None
    events: Sequence[tuple[str, Mapping[str, Any] | None]] = ()
    links: Sequence[tuple[TraceState | None, Mapping[str, Any] | None]] = ()
    status_message: str | None = None
    trace_state: TraceState | None = None


class ScrubbedSpanData(NamedTuple):
    """What :class:`SpanData` became. ``attributes`` carries the redactions attribute (``{rule: count}`` as
    JSON) when anything was removed, here or in the span's resource or scope; a trace state is returned
    unchanged (the same object) when scrubbing kept all of its entries."""

    name: str
    attributes: dict[str, Any]
    events: Sequence[tuple[str, dict[str, Any]]]
    links: Sequence[tuple[TraceState | None, dict[str, Any]]]
    status_message: str | None
    trace_state: TraceState | None
    counts: dict[str, int]


class ScrubbedResource(NamedTuple):
    """A resource's scrubbed attributes and schema URL, with the rules that fired (counted on every span)."""

    attributes: dict[str, Any]
    schema_url: str | None
    counts: RuleCounts


class ScrubbedScope(NamedTuple):
    """An instrumentation scope's scrubbed name, version, schema URL and attributes, with the rules that
    fired (counted on every span)."""

    name: str
    version: str | None
    schema_url: str | None
    attributes: dict[str, Any]
    counts: RuleCounts
