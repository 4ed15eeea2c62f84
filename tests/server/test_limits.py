"""Malformed requests: each answered 4xx naming its problem, nothing stored changes, the server stays up."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.server import json_body
from telemetry.server.json_body import Limits, RequestProblem, _parse_careful, parse_json
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("consent_on")

API = "/api/telemetry"
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Bad:
    kind: str
    path: str
    body: bytes | None
    headers: dict[str, str]
    status: int
    problem: str | None = None
    chunked: bool = False
    method: str = "POST"


def _deep(depth: int) -> bytes:
    return b'{"event_type": "x", "properties": {"a": ' + b"[" * depth + b"]" * depth + b"}}"


def _event(value: str) -> bytes:
    return b'{"event_type": "x", "properties": {"v": ' + value.encode() + b"}}"


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 65_536
        sent += 65_536


BAD_REQUESTS = [
    Bad("body too large", f"{API}/events", b'{"event_type": "' + b"x" * (1 << 20) + b'"}', JSON, 413,
        "body_too_large"),
    Bad("chunked body too large", f"{API}/events", None, JSON, 413, "body_too_large", chunked=True),
    Bad("wrong content type", f"{API}/events", b'{"event_type": "x"}', {"Content-Type": "text/plain"}, 415,
        "unsupported_media_type"),
    Bad("form content type", f"{API}/consent", b"enabled=false",
        {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    Bad("no content type", f"{API}/events", b'{"event_type": "x"}', {}, 415, "unsupported_media_type"),
    Bad("non-UTF-8 charset", f"{API}/events", b'{"event_type": "x"}',
        {"Content-Type": "application/json; charset=latin-1"}, 415, "unsupported_charset"),
    Bad("gzip on the REST API", f"{API}/events", gzip.compress(b'{"event_type": "x"}'),
        {**JSON, "Content-Encoding": "gzip"}, 415, "unsupported_encoding"),
    Bad("invalid JSON", f"{API}/events", b'{"event_type": "x",', JSON, 400, "invalid_json"),
    Bad("NaN", f"{API}/performance", b'{"metric_name": "m", "value": NaN}', JSON, 400, "nan_or_infinity"),
    Bad("Infinity", f"{API}/performance", b'{"metric_name": "m", "value": -Infinity}', JSON, 400,
        "nan_or_infinity"),
    Bad("float overflow", f"{API}/performance", b'{"metric_name": "m", "value": 1e400}', JSON, 400,
        "number_too_large"),
    Bad("integer beyond 64 bits", f"{API}/events", _event("1" + "0" * 30), JSON, 400, "number_too_large"),
    Bad("4,000-digit integer", f"{API}/events", _event("9" * 4_000), JSON, 400, "number_too_large"),
    Bad("lone surrogate escape", f"{API}/events", _event('"\\ud800"'), JSON, 400, "lone_surrogate"),
    Bad("lone surrogate in a key", f"{API}/events",
        b'{"event_type": "x", "properties": {"\\udfff": 1}}', JSON, 400, "lone_surrogate"),
    Bad("NUL character", f"{API}/events", _event('"a\\u0000b"'), JSON, 400, "nul_character"),
    Bad("invalid UTF-8 bytes", f"{API}/events", b'{"event_type": "\xff\xfe"}', JSON, 400, "invalid_utf8"),
    Bad("UTF-8 encoded surrogate", f"{API}/events", b'{"event_type": "\xed\xa0\x80"}', JSON, 400,
        "invalid_utf8"),
    Bad("nesting too deep", f"{API}/events", _deep(40), JSON, 400, "nesting_too_deep"),
    Bad("nesting beyond the recursion limit", f"{API}/events", _deep(200_000), JSON, 400, "nesting_too_deep"),
    Bad("too many keys", f"{API}/events",
        b'{"event_type": "x", "properties": {' + b",".join(b'"k%d": 1' % i for i in range(2_100)) + b"}}",
        JSON, 400, "too_many_keys"),
    Bad("key too long", f"{API}/events", b'{"event_type": "x", "properties": {"' + b"k" * 300 + b'": 1}}',
        JSON, 400, "key_too_long"),
    Bad("string too long", f"{API}/events", _event('"' + "s" * 70_000 + '"'), JSON, 400, "string_too_long"),
    Bad("array too long", f"{API}/events", _event("[" + ",".join(["1"] * 10_001) + "]"), JSON, 400,
        "array_too_long"),
    Bad("duplicate key", f"{API}/consent", b'{"enabled": true, "enabled": false}', JSON, 400,
        "duplicate_key"),
    Bad("wrong field type", f"{API}/consent", b'{"enabled": "false"}', JSON, 422),
    Bad("unknown field", f"{API}/events", b'{"event_type": "x", "admin": true}', JSON, 422),
    Bad("missing field", f"{API}/events", b'{"properties": {}}', JSON, 422),
    Bad("empty event type", f"{API}/events", b'{"event_type": ""}', JSON, 422),
    Bad("body is not an object", f"{API}/events", b"[1, 2, 3]", JSON, 422),
    Bad("OTLP garbage protobuf", "/v1/traces", b"\xff\xff\xff\xff not protobuf",
        {"Content-Type": "application/x-protobuf"}, 400, "invalid_otlp"),
    Bad("OTLP wrong JSON shape", "/v1/traces", b'{"resourceSpans": "nope"}', JSON, 400, "invalid_otlp"),
    Bad("OTLP id that is not hex", "/v1/traces",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "zz"}]}]}]}', JSON, 400,
        "invalid_otlp"),
    Bad("OTLP gzip bomb", "/v1/traces", gzip.compress(b"\x00" * (6 << 20)),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 413, "body_too_large"),
    Bad("OTLP broken gzip", "/v1/metrics", b"\x1f\x8b not gzip",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 400, "invalid_gzip"),
    Bad("OTLP unknown encoding", "/v1/metrics", b"x",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "br"}, 415, "unsupported_encoding"),
    Bad("OTLP wrong content type", "/v1/metrics", b"x", {"Content-Type": "text/plain"}, 415,
        "unsupported_media_type"),
    Bad("OTLP NaN in JSON", "/v1/metrics", b'{"resourceMetrics": [{"x": NaN}]}', JSON, 400,
        "nan_or_infinity"),
    Bad("query parameter out of range", f"{API}/export?start_ns=99999999999999999999", None, {}, 422,
        method="GET"),
]  # fmt: skip


def test_there_are_at_least_twelve_kinds() -> None:
    assert len({bad.problem or bad.kind for bad in BAD_REQUESTS}) >= 12


@pytest.mark.parametrize("bad", BAD_REQUESTS, ids=lambda bad: bad.kind)
def test_malformed_request_is_refused_and_changes_nothing(server: LiveServer, bad: Bad) -> None:
    before = server.stored_state()
    headers = {**server.auth, **bad.headers}
    with server.client() as http:
        content = _chunks(2 << 20) if bad.chunked else bad.body
        response = http.request(bad.method, bad.path, content=content, headers=headers)
        assert response.status_code == bad.status, response.text[:300]
        if bad.problem is not None:
            assert response.json()["problem"] == bad.problem
        assert response.json()["detail"]
        assert server.stored_state() == before
        # Still up, still answering (a recorded request itself, so checked after the comparison).
        assert http.get(f"{API}/consent").status_code == 200
    assert server.service.is_enabled()


def test_a_valid_request_does_change_the_stored_state(server: LiveServer) -> None:
    # The positive control for the test above: stored_state() does see a real change.
    before = server.stored_state()
    with server.client(headers=server.auth) as http:
        assert http.post(f"{API}/events", json={"event_type": "control"}).status_code == 200
    assert server.stored_state() != before


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b'{"a": NaN}', "nan_or_infinity"),
        (b'{"a": "\\ud83d"}', "lone_surrogate"),
        (b'{"a": 9223372036854775808}', "number_too_large"),
        (b'{"a": -9223372036854775809}', "number_too_large"),
        (b'{"\\u0000": 1}', "nul_character"),
    ],
)
def test_parse_json_names_the_problem(text: bytes, problem: str) -> None:
    with pytest.raises(RequestProblem) as raised:
        parse_json(text, Limits())
    assert raised.value.code == problem
    assert raised.value.status == 400


def test_parse_json_accepts_the_edges() -> None:
    value = parse_json(b'{"a": 9223372036854775807, "b": -9223372036854775807, "c": "\\ud83d\\ude00"}', Limits())
    assert value == {"a": 2**63 - 1, "b": -(2**63 - 1), "c": "\U0001f600"}
    deepest = parse_json(b'{"d": ' + b"[" * 31 + b"]" * 31 + b"}", Limits())["d"]  # 32 levels: the limit
    for _ in range(30):
        deepest = deepest[0]
    assert deepest == []
    with pytest.raises(RequestProblem):
        parse_json(b'{"d": ' + b"[" * 32 + b"]" * 32 + b"}", Limits())


def test_limits_for_otlp_are_wider() -> None:
    otlp = Limits().for_otlp()
    assert otlp.max_body_bytes == 4 << 20 and otlp.max_keys > Limits().max_keys


# -- the quick road (orjson) and the careful road (json with hooks) give one answer ------------------------

_json_scalars = st.none() | st.booleans() | st.integers(-(2**63) + 1, 2**63 - 1) | st.text(max_size=20)
_json_values = st.recursive(
    _json_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values)
def test_quick_and_careful_parsers_agree(value: object) -> None:
    body = json.dumps(value, ensure_ascii=False).encode()
    try:
        careful: object = _parse_careful(body, Limits())
    except RequestProblem as problem:
        careful = problem.code
    try:
        quick: object = parse_json(body, Limits())
    except RequestProblem as problem:
        quick = problem.code
    assert quick == careful
    assert type(quick) is type(careful)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"a": "x\\":", "b": "\\\\", "c": {"d": ":"}}', {"a": 'x":', "b": "\\", "c": {"d": ":"}}),
        (b'{"id": "12345678901234567890123"}', {"id": "12345678901234567890123"}),  # long digits in a string
        (b'{"n": 123456789012345678}', {"n": 123456789012345678}),
        (b' [ {"a" : 1} , {"a" :2} ] ', [{"a": 1}, {"a": 2}]),  # same key in two objects is not a duplicate
    ],
)
def test_parse_json_accepts_tricky_but_valid_bodies(text: bytes, expected: object) -> None:
    assert parse_json(text, Limits()) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b'{"a": {"k": 1, "k" : 2}}', "duplicate_key"),
        (b'{"a": "\\"k\\":", "a": 1}', "duplicate_key"),
        (b'{"a": 12345678901234567890123}', "number_too_large"),
        (b'{"a": 18446744073709551615}', "number_too_large"),  # orjson takes it as an int, we do not
        (b'{"a": "\\u0000"}', "nul_character"),
        (b'{"a": 1e400}', "number_too_large"),
    ],
)
def test_parse_json_refuses_what_orjson_would_take_or_names_differently(text: bytes, problem: str) -> None:
    with pytest.raises(RequestProblem) as raised:
        parse_json(text, Limits())
    assert raised.value.code == problem


def test_a_plain_event_takes_the_quick_road(monkeypatch: pytest.MonkeyPatch) -> None:
    # The positive control of the agreement test: ordinary bodies never reach the careful parser.
    def refuse(body: bytes, limits: Limits) -> object:
        raise AssertionError("the careful parser ran")

    monkeypatch.setattr(json_body, "_parse_careful", refuse)
    body = b'{"event_type": "training_started", "properties": {"lr": 2e-4, "epochs": 3, "gpu": "A100", "q": true}}'
    assert parse_json(body, Limits())["properties"]["gpu"] == "A100"
