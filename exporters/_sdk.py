"""The OpenTelemetry SDK internals the exporters read, in one place, each pinned by a test.

The public accessors copy: ``span.attributes`` walks ``BoundedAttributes`` in Python, ``span.events`` and
``span.links`` build a tuple from a ``BoundedList`` for every span. The SDK keeps plain containers inside
(``BoundedAttributes._dict``, ``BoundedList._dq``) and the span keeps those objects as ``_attributes``,
``_events`` and ``_links``; reading them directly is what keeps the span -> Arrow conversion cheap.
Every read here falls back to the public way when the internal is missing or of another type, so an SDK
that moves them costs speed, not correctness. ``tests/exporters/test_sdk_internals.py`` pins each one
against the SDK in the range ``pyproject.toml`` allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

#: ``ReadableSpan`` slots holding its attribute mapping, its events and its links.
SPAN_ATTRIBUTES: Final = "_attributes"
SPAN_EVENTS: Final = "_events"
SPAN_LINKS: Final = "_links"

_EMPTY: Mapping[str, Any] = {}


def plain_attributes(raw: Any) -> Mapping[str, Any]:
    """An attribute mapping (a span's, an event's, a link's) as a plain dict, for reading only.

    ``dict(span.attributes)`` walks the SDK's ``BoundedAttributes`` through Python-level ``__iter__`` and
    ``__getitem__``, a large share of the Arrow writer's cost per span (bench/README.md). The SDK keeps a plain dict
    inside (``_dict``), and spans rebuilt by a processor usually carry a plain dict: those are returned as
    they are, never changed. Anything else is copied the public way; tests pin that the fast way is taken."""
    if raw is None:
        return _EMPTY
    if type(raw) is dict:
        return raw
    inner = getattr(raw, "_dict", None)
    if type(inner) is dict:
        return inner
    return dict(raw)


def sequence_of(raw: Any) -> Sequence[Any]:
    """A span's events or links without the public property's copy: ``span.events`` builds a tuple
    through the SDK ``BoundedList``'s Python-level ``__iter__``, even when empty."""
    if raw is None:
        return ()
    if type(raw) is tuple or type(raw) is list:
        # First: a rebuilt span's ``()`` / list. Probing a tuple for ``_dq`` raises and catches an
        # AttributeError inside getattr, costly on every rebuilt span.
        return raw
    inner = getattr(raw, "_dq", None)
    if inner is not None:
        return inner  # a deque: len() and iteration in C; spans are finished, so it no longer changes
    return raw if isinstance(raw, list | tuple) else tuple(raw)
