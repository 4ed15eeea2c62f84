"""What both signals share: request parsing, limits, attribute values, resources, scopes, rejections.

Each span or data point is checked on its own (ids, times, string sizes, NUL, non-finite numbers); a bad
one is rejected and counted in the standard ``partial_success``, the rest of the batch is kept. Error
messages name the problem, never a value.

OTLP JSON encodes trace and span ids as hex strings (the OTLP/HTTP specification), while protobuf's
canonical JSON, and so ``json_format.ParseDict``, reads bytes fields as base64: a spec-correct line would
"parse" into 24-byte trace ids. :func:`otlp_json_to_proto` turns the hex ids into base64 before parsing.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as ProtoResource
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope as SdkScope
from opentelemetry.util.types import AttributeValue

from telemetry.events import to_attributes

MAX_STRING: Final = 65_536
MAX_NAME: Final = 1_024
MAX_ATTRIBUTES: Final = 128
MAX_EVENTS: Final = 128
MAX_LINKS: Final = 128
MAX_VALUE_DEPTH: Final = 8
MAX_BUCKETS: Final = 1_024
_ID_KEYS: Final = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})

T = TypeVar("T", bound=Message)


class Invalid(ValueError):
    """One span or data point cannot be taken; the message names why, without quoting values."""


@dataclass
class Converted:
    """What came out of one request: the SDK objects, and how many items were rejected and why."""

    items: list[Any] = field(default_factory=list)
    rejected: int = 0
    reasons: set[str] = field(default_factory=set)

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        self.reasons.add(reason)

    @property
    def message(self) -> str:
        return "; ".join(sorted(self.reasons))[:1_000]


# -- request parsing -----------------------------------------------------------------------------------


def parse_protobuf(body: bytes, message_type: type[T]) -> T:
    """Raises ``Invalid`` for bytes that are not a ``message_type``."""
    try:
        return message_type.FromString(body)
    except Exception:  # DecodeError, or RuntimeError from a recursion limit in upb
        raise Invalid("the body is not a valid protobuf " + message_type.DESCRIPTOR.name) from None


def otlp_json_to_proto(document: Any, message_type: type[T]) -> T:
    """Parse an OTLP JSON document (hex ids) into ``message_type``. Raises ``Invalid``."""
    if not isinstance(document, dict):
        raise Invalid("the body must be a JSON object")
    try:
        fixed = _hex_ids_to_base64(document)
        return json_format.ParseDict(fixed, message_type(), ignore_unknown_fields=True)
    except Invalid:
        raise
    except Exception:  # ParseError quotes the offending value: do not pass it on
        raise Invalid("the body is not a valid OTLP JSON " + message_type.DESCRIPTOR.name) from None


def _hex_ids_to_base64(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (_hex_to_b64(v) if k in _ID_KEYS else _hex_ids_to_base64(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids_to_base64(v) for v in value]
    return value


def _hex_to_b64(value: Any) -> Any:
    if not isinstance(value, str):
        raise Invalid("trace and span ids must be hex strings")
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError:
        raise Invalid("trace and span ids must be hex strings") from None


# -- values ------------------------------------------------------------------------------------------


def _any_value(value: AnyValue, depth: int = 0) -> Any:
    if depth > MAX_VALUE_DEPTH:
        raise Invalid("an attribute value nests too deeply")
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return checked_text(value.string_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        if not math.isfinite(value.double_value):
            raise Invalid("an attribute is NaN or infinite")
        return value.double_value
    if kind == "array_value":
        return [_any_value(v, depth + 1) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {checked_text(kv.key): _any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None  # an empty AnyValue: dropped, as OTel drops None attributes


def checked_text(value: str, limit: int = MAX_STRING) -> str:
    if len(value) > limit:
        raise Invalid("a string is too long")
    if "\x00" in value:
        raise Invalid("a string contains a NUL character")
    return value


def attributes_of(pairs: Sequence[KeyValue]) -> dict[str, AttributeValue]:
    if len(pairs) > MAX_ATTRIBUTES:
        raise Invalid("too many attributes")
    raw: dict[str, Any] = {}
    flat = True
    isfinite = math.isfinite
    for kv in pairs:
        key, value = kv.key, kv.value
        if len(key) > 256 or "\x00" in key:
            checked_text(key, 256)  # raises, naming the problem
        # Strings, numbers and bools are nearly every attribute: read them inline, the rest in _any_value.
        kind = value.WhichOneof("value")
        if kind == "string_value":
            text = value.string_value
            raw[key] = text if len(text) <= MAX_STRING and "\x00" not in text else checked_text(text)
        elif kind == "int_value":
            raw[key] = value.int_value
        elif kind == "bool_value":
            raw[key] = value.bool_value
        elif kind == "double_value" and isfinite(number := value.double_value):
            raw[key] = number
        else:
            raw[key] = _any_value(value)
            flat = False
    # Nested values become dotted keys or JSON text, exactly as for track_event properties; a map of plain
    # values (nearly every one) is already what to_attributes would return.
    return raw if flat else to_attributes(raw)


def resource_of(resource: ProtoResource, schema_url: str) -> Resource:
    return Resource(attributes_of(resource.attributes), schema_url or None)


def scope_of(scope: InstrumentationScope, schema_url: str) -> SdkScope:
    return SdkScope(
        checked_text(scope.name, MAX_NAME) or "unknown",
        checked_text(scope.version, MAX_NAME) or None,
        schema_url or None,
        attributes_of(scope.attributes) or None,
    )


def guarded(out: Converted, count: int, build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Invalid as exc:
        out.reject(count, str(exc))
    except Exception:
        out.reject(count, "an item could not be converted")
    return None
