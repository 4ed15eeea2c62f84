"""The ``track_*`` fast path: facts recorded as plain data now, built into OTel spans later.

On the caller's thread a ``track_*`` call copies its arguments into a small record (about a microsecond).
The export worker calls :meth:`materialize`, which builds the same ``ReadableSpan`` the SDK would have
built for ``tracer.start_span(name, attributes=to_attributes(...)).end()``: same resource, scope, parent
and ids. From there it flows through the consent gate's companions (anonymizer, exporter) exactly like a
span from ordinary OpenTelemetry code, so what is stored does not depend on which road an event took.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from exporters.eventlog import schema
from telemetry._parent import current_parent as current_parent  # re-exported: one home for it
from telemetry.categories import categorize, categorize_type

MAX_ATTRIBUTES = 128
MAX_DEPTH = 6
MAX_NAME_LENGTH = 128

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_INTERNAL = SpanKind.INTERNAL
_UNSET = Status(StatusCode.UNSET)  # immutable; the SDK shares one default instance the same way
_PRIMITIVES = (str, bool, int, float)
_FLAT_TYPES = frozenset(_PRIMITIVES)
_STR_TYPE = frozenset({str})

Frame = tuple[str, int, str]  # file name, line number, function name


def to_attributes(properties: Mapping[str, Any] | None, prefix: str = "") -> dict[str, AttributeValue]:
    """Flatten free-form properties into valid OpenTelemetry attributes.

    Nested mappings become dotted keys (``{"lora": {"r": 16}}`` -> ``lora.r``), so key-based privacy rules
    see every level; homogeneous lists of primitives stay lists; anything else becomes JSON text, which
    the anonymizer parses and scrubs like any other JSON-in-a-string. ``None`` values are left out.
    """
    if not properties:
        return {}
    if (
        not prefix
        and len(properties) <= MAX_ATTRIBUTES
        # Exact types, checked in C (map + issuperset): a generator here cost more than the copy.
        and _STR_TYPE.issuperset(map(type, properties))
        and _FLAT_TYPES.issuperset(map(type, properties.values()))
    ):
        return dict(properties)  # the common case: already flat
    out: dict[str, AttributeValue] = {}
    _flatten(properties, prefix, out, 0)
    return out


def _flatten(mapping: Mapping[str, Any], prefix: str, out: dict[str, AttributeValue], depth: int) -> None:
    for raw_key, value in mapping.items():
        if len(out) >= MAX_ATTRIBUTES:
            return
        key = f"{prefix}{raw_key}"
        if value is None:
            continue
        if isinstance(value, _PRIMITIVES):
            out[key] = value
        elif isinstance(value, Mapping):
            if depth < MAX_DEPTH:
                _flatten(value, key + ".", out, depth + 1)
            else:
                out[key] = _json(value)
        elif isinstance(value, list | tuple):
            out[key] = _sequence(value)
        else:
            out[key] = str(value)


def _sequence(values: list[Any] | tuple[Any, ...]) -> AttributeValue:
    if values and all(type(v) is type(values[0]) for v in values) and isinstance(values[0], _PRIMITIVES):
        return tuple(values)
    return _json(values)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class SpanFactory:
    """What every materialized span shares: resource, instrumentation scope, and the histogram hook."""

    def __init__(
        self,
        resource: Resource,
        scope: InstrumentationScope,
        record_measurement: Callable[[str, float, str], None] | None = None,
    ) -> None:
        self.resource = resource
        self.scope = scope
        self.record_measurement = record_measurement

    def build(
        self,
        name: str,
        attributes: dict[str, AttributeValue],
        start_ns: int,
        end_ns: int,
        parent: SpanContext | None,
        *,
        events: tuple[Event, ...] = (),
        status: Status | None = None,
    ) -> ReadableSpan:
        if parent is not None and parent.is_valid:
            trace_id = parent.trace_id
        else:
            trace_id, parent = random.getrandbits(128), None
        context = SpanContext(trace_id, random.getrandbits(64), False, _SAMPLED)
        # Positional, in ReadableSpan's order (a test pins the order; keywords cost more); no links, no
        # instrumentation_info (deprecated).
        return ReadableSpan(name, context, parent, self.resource, attributes, events, (), _INTERNAL, None,
                            status or _UNSET, start_ns, end_ns, self.scope)  # fmt: skip


def _clean_name(value: object) -> str:
    name = value if isinstance(value, str) else str(value)
    # Not cut here: a cut before scrubbing could leave half an e-mail address or token. The anonymizer cuts
    # names to MAX_NAME_LENGTH after scrubbing.
    return name or "unnamed"


class EventRecord:
    """``track_event(event_type, properties)`` as plain data."""

    __slots__ = ("event_type", "factory", "parent", "properties", "time_ns")

    def __init__(self, factory: SpanFactory, event_type: object, properties: dict[str, Any] | None,
                 time_ns: int, parent: SpanContext | None) -> None:  # fmt: skip
        self.factory = factory
        self.event_type = event_type
        self.properties = properties
        self.time_ns = time_ns
        self.parent = parent

    def materialize(self) -> ReadableSpan:
        name = _clean_name(self.event_type)
        attributes = to_attributes(self.properties)
        attributes[schema.ATTR_CATEGORY] = "event"
        attributes[schema.ATTR_EVENT_TYPE] = name
        return self.factory.build(name, attributes, self.time_ns, self.time_ns, self.parent)


class PerformanceRecord:
    """``track_performance(metric_name, value, unit)``: a span for exact percentiles, and a histogram."""

    __slots__ = ("factory", "metric_name", "parent", "time_ns", "unit", "value")

    def __init__(self, factory: SpanFactory, metric_name: object, value: object, unit: object,
                 time_ns: int, parent: SpanContext | None) -> None:  # fmt: skip
        self.factory = factory
        self.metric_name = metric_name
        self.value = value
        self.unit = unit
        self.time_ns = time_ns
        self.parent = parent

    def materialize(self) -> ReadableSpan | None:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("track_performance needs a finite number")
        name = _clean_name(self.metric_name)
        unit = str(self.unit)
        attributes: dict[str, AttributeValue] = {
            schema.ATTR_CATEGORY: "performance",
            schema.ATTR_EVENT_TYPE: "performance",
            schema.ATTR_METRIC_NAME: name,
            schema.ATTR_METRIC_VALUE: float(value),
            schema.ATTR_METRIC_UNIT: unit,
        }
        if self.factory.record_measurement is not None:
            self.factory.record_measurement(name, float(value), unit)
        return self.factory.build("performance", attributes, self.time_ns, self.time_ns, self.parent)


class ErrorRecord:
    """``track_error(exc, context)``: type, first line of the message, frames; formatted off-thread.

    Frames are captured without source lines: ``traceback.format_exception`` would read source files
    through ``linecache`` on the caller's thread, and source lines are not something we keep anyway.
    """

    __slots__ = ("context", "error_type", "exc_type", "factory", "frames", "message", "parent", "time_ns")

    def __init__(self, factory: SpanFactory, error_type: str, message: str, frames: list[Frame] | str,
                 context: dict[str, Any] | None, time_ns: int, parent: SpanContext | None,
                 exc_type: type[BaseException] | None = None) -> None:  # fmt: skip
        self.exc_type = exc_type  # the class itself, so the category comes from its MRO (off-thread)
        self.factory = factory
        self.error_type = error_type
        self.message = message
        self.frames = frames  # captured frames, or a stack trace already formatted (from a browser)
        self.context = context
        self.time_ns = time_ns
        self.parent = parent

    @classmethod
    def from_exception(
        cls, factory: SpanFactory, exc: BaseException, context: dict[str, Any] | None, time_ns: int,
        parent: SpanContext | None,
    ) -> ErrorRecord:  # fmt: skip
        kind = type(exc)
        module = kind.__module__
        error_type = kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
        try:
            message = str(exc)
        except Exception:  # a broken __str__ must not break the caller
            message = "<unprintable>"
        frames: list[Frame] = []
        tb = exc.__traceback__
        while tb is not None and len(frames) < 100:
            code = tb.tb_frame.f_code
            frames.append((code.co_filename, tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        return cls(factory, error_type, message, frames, context, time_ns, parent, kind)

    def materialize(self) -> ReadableSpan:
        context = dict(self.context or {})
        category = str(
            context.pop("category", "")
            or (
                categorize_type(self.exc_type, self.message)
                if self.exc_type is not None
                else categorize(self.error_type, self.message)
            )
        )
        first_line = self.message.strip().splitlines()[0] if self.message.strip() else ""
        # Context keys are stored under "context."; a key itself named "context" is not doubled into
        # "context.context": a mapping merges into the others, a plain value is stored as "context".
        nested = context.pop("context", None)
        if isinstance(nested, Mapping):
            context = {**{str(k): v for k, v in nested.items()}, **context}
        attributes = to_attributes(context, prefix="context.")
        if nested is not None and not isinstance(nested, Mapping):
            attributes["context"] = nested if isinstance(nested, _PRIMITIVES) else str(nested)
        attributes[schema.ATTR_CATEGORY] = "error"
        attributes[schema.ATTR_EVENT_TYPE] = "error"
        attributes[schema.ATTR_ERROR_TYPE] = self.error_type
        attributes[schema.ATTR_ERROR_CATEGORY] = category
        if isinstance(self.frames, str):
            stack = self.frames.rstrip("\n") + "\n" if self.frames else ""
        else:
            stack = "".join(f'  File "{f}", line {n}, in {fn}\n' for f, n, fn in self.frames)
        event = Event(
            "exception",
            {
                "exception.type": self.error_type,
                "exception.message": first_line,
                "exception.stacktrace": f"Traceback (most recent call last):\n{stack}{self.error_type}: {first_line}",
            },
            timestamp=self.time_ns,
        )
        return self.factory.build(
            "error",
            attributes,
            self.time_ns,
            self.time_ns,
            self.parent,
            events=(event,),
            status=Status(StatusCode.ERROR, f"{self.error_type}: {first_line}"),
        )
