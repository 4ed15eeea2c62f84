"""JSON request bodies: what a body may hold, and one parser that refuses everything else.

Python's ``json`` accepts ``NaN``, ``Infinity``, lone surrogates, duplicate keys and integers of any length;
stored, a lone surrogate becomes a 500 from DuckDB's UTF-8 encoder and a ``NaN`` makes the export invalid
JSON (``docs/design-notes.md``). :func:`parse_json` refuses them with a :class:`RequestProblem` whose
``problem`` code names what is wrong, never a value. :mod:`telemetry.server.limits` applies it to every
request body.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any, Final

import orjson
from starlette.responses import JSONResponse

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
#: Every JSON string token in order, and whether a colon follows it (then it is an object key).
_STRING_TOKEN: Final = re.compile(rb'"(?:[^"\\]|\\.)*"[ \t\n\r]*(:?)', re.S)
#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson would turn into a float.
_LONG_DIGITS: Final = re.compile(rb"[0-9]{19}")
_INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True)
class Limits:
    """Bounds on one request body. The defaults fit the REST API; :meth:`for_otlp` widens them for batches."""

    max_body_bytes: int = 1 << 20
    max_depth: int = 32
    max_keys: int = 2_000
    max_array_length: int = 10_000
    max_string_length: int = 65_536
    max_key_length: int = 256

    def for_otlp(self) -> Limits:
        # An OTLP JSON batch of 512 spans with 10 attributes holds ~15k objects of 2-4 keys each.
        return replace(
            self, max_body_bytes=max(self.max_body_bytes, 4 << 20), max_depth=64, max_keys=1_000_000,
            max_array_length=100_000,
        )  # fmt: skip


class RequestProblem(Exception):
    """A request refused before it reached a handler. ``code`` names the problem for programs."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def response(self) -> JSONResponse:
        return JSONResponse({"detail": self.detail, "problem": self.code}, status_code=self.status)


def parse_json(body: bytes, limits: Limits) -> Any:
    """Parse a JSON body, refusing what JSON allows but we must not store. Raises :class:`RequestProblem`.

    Two roads, one answer: orjson with a quick check of the result takes every body that is clearly fine
    (much faster than ``json`` with hooks); anything else (orjson refuses it, a check fails, or it may
    hold a duplicate key or a huge integer) is parsed again by the careful parser, which names the
    problem. So the careful parser decides every refusal, and the quick road only accepts what it would.

    >>> parse_json(b'{"a": [1, 2.5, "x"]}', Limits())
    {'a': [1, 2.5, 'x']}
    """
    quick = _parse_quick(body, limits)
    return quick if quick is not _REFER else _parse_careful(body, limits)


_REFER: Final = object()  # the quick road's "ask the careful parser"


def _parse_quick(body: bytes, limits: Limits) -> Any:
    if _LONG_DIGITS.search(body) is not None:
        return _REFER
    try:
        value = orjson.loads(body)  # refuses NaN, Infinity, overflow, lone surrogates, invalid UTF-8
    except orjson.JSONDecodeError:
        return _REFER
    keys = _quick_check(value, limits)
    # orjson keeps the last of duplicate keys silently: fewer keys parsed than written means duplicates.
    if keys is None or (keys and keys != _STRING_TOKEN.findall(body).count(b":")):
        return _REFER
    return value


def _quick_check(root: Any, limits: Limits) -> int | None:
    """The number of object keys in ``root``, or None if any limit is broken (the careful parser names it)."""
    keys = 0
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is str:
            if len(value) > limits.max_string_length or "\x00" in value:
                return None
        elif kind is dict:
            keys += len(value)
            if depth > limits.max_depth or keys > limits.max_keys:
                return None
            for key, item in value.items():
                if len(key) > limits.max_key_length or "\x00" in key:
                    return None
                stack.append((item, depth + 1))
        elif kind is list:
            if depth > limits.max_depth or len(value) > limits.max_array_length:
                return None
            stack.extend((item, depth + 1) for item in value)
    return keys


def _parse_careful(body: bytes, limits: Limits) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("invalid_utf8", "the body is not valid UTF-8") from None
    keys = 0

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal keys
        keys += len(pairs)
        if keys > limits.max_keys:
            raise _bad("too_many_keys", f"more than {limits.max_keys} object keys in the body")
        out: dict[str, Any] = {}
        for key, value in pairs:
            if len(key) > limits.max_key_length:
                raise _bad("key_too_long", f"an object key is longer than {limits.max_key_length} characters")
            _check_text(key, "an object key")
            if key in out:
                raise _bad("duplicate_key", "an object has the same key twice")
            out[key] = value
        return out

    try:
        value = json.loads(
            text,
            object_pairs_hook=pairs_hook,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise _bad("nesting_too_deep", f"the body nests deeper than {limits.max_depth} levels") from None
    except json.JSONDecodeError as exc:
        # exc.msg names the grammar rule ("Expecting value"), never the body's content.
        raise _bad("invalid_json", f"the body is not valid JSON ({exc.msg} at position {exc.pos})") from None
    _check_tree(value, limits)
    return value


def _bad(code: str, detail: str) -> RequestProblem:
    return RequestProblem(400, code, detail)


def _parse_int(text: str) -> int:
    # Checked on the literal: int() of a 5,000-digit string is itself a denial of service.
    if len(text.lstrip("-")) > 19 or abs(number := int(text)) > _INT64_MAX:
        raise _bad("number_too_large", "an integer does not fit in 64 bits")
    return number


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _bad("number_too_large", "a number is too large for a 64-bit float")
    return number


def _refuse_constant(text: str) -> Any:
    raise _bad("nan_or_infinity", "NaN and Infinity are not JSON numbers")


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        raise _bad("nul_character", f"{what} contains a NUL character")
    if _SURROGATE.search(text):
        raise _bad("lone_surrogate", f"{what} contains a lone UTF-16 surrogate")


def _check_tree(root: Any, limits: Limits) -> None:
    # Iterative: a deep body must not cost us the recursion limit a second time.
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > limits.max_string_length:
                raise _bad("string_too_long", f"a string is longer than {limits.max_string_length} characters")
            _check_text(value, "a string")
        elif isinstance(value, dict | list):
            if depth > limits.max_depth:
                raise _bad("nesting_too_deep", f"the body nests deeper than {limits.max_depth} levels")
            items = value.values() if isinstance(value, dict) else value
            if isinstance(value, list) and len(value) > limits.max_array_length:
                raise _bad("array_too_long", f"an array has more than {limits.max_array_length} items")
            stack.extend((item, depth + 1) for item in items)
