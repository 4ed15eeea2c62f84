"""Property tests: personal data generated at random, hidden anywhere in a real span, never survives.

Each example builds a fresh TracerProvider -> AnonymizingSpanProcessor -> InMemorySpanExporter, puts one
generated item (an e-mail, an IP, a provider token, a JWT, a home path, a card number, ...) at a random depth
of a random structure (dicts, lists, JSON inside strings) in one span field (name, attributes, events,
exception message, status, links, resource, scope), and checks every string the exported span holds.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import string
from dataclasses import dataclass
from typing import Any

import orjson
from _privacy_helpers import HOME, HOME_USER, SECRET, all_strings, make_pipeline
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import Link, Status, StatusCode

from processors.anonymizer import Anonymizer

ALNUM = string.ascii_letters + string.digits
LOWER = string.ascii_lowercase


@dataclass(frozen=True)
class Pii:
    kind: str
    text: str
    needles: tuple[str, ...]  # none of these may appear (case-insensitively) in anything stored


def _s(alphabet: str, lo: int, hi: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=lo, max_size=hi if hi is not None else lo)


# A distinctive prefix keeps generated names from colliding with filler words.
def _name(lo: int = 5, hi: int = 9) -> st.SearchStrategy[str]:
    return _s(LOWER, lo, hi).map(lambda s: "q" + s)


@st.composite
def emails(draw: st.DrawFn) -> Pii:
    local = draw(_name()) + draw(st.sampled_from(["", ".x", "+tag", "_1"]))
    domain = draw(_name(3, 8)) + "." + draw(st.sampled_from(["com", "org", "io", "co.uk", "dev"]))
    address = f"{local}@{domain}"
    return Pii("email", address, (address, local))


@st.composite
def ipv4s(draw: st.DrawFn) -> Pii:
    first = draw(st.integers(1, 223).filter(lambda n: n != 127))
    rest = draw(st.lists(st.integers(0, 255), min_size=3, max_size=3))
    # Documented rule (README, privacy): 1-9 . 0-20 . 0-20 . x reads as a version (8.9.2.26), not an address.
    assume(not (first <= 9 and rest[0] <= 20 and rest[1] <= 20))
    ip = ".".join(str(n) for n in [first, *rest])
    return Pii("ipv4", ip, (ip,))


@st.composite
def ipv6s(draw: st.DrawFn) -> Pii:
    groups = draw(st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8))
    if draw(st.booleans()):
        groups[2:5] = [0, 0, 0]  # gives a "::" form
    groups[0] = groups[0] or 0x2001
    ip = ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups)).compressed
    return Pii("ipv6", ip, (ip,))


def _luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return prefix + str((10 - total % 10) % 10)


@st.composite
def cards(draw: st.DrawFn) -> Pii:
    number = _luhn_complete("4" + draw(_s(string.digits, 14)))
    sep = draw(st.sampled_from(["", " ", "-"]))
    shown = sep.join(number[i : i + 4] for i in range(0, 16, 4)) if sep else number
    return Pii("card", shown, (shown, number))


@st.composite
def phones(draw: st.DrawFn) -> Pii:
    area, mid, last = draw(_s("23456789", 3)), draw(_s(string.digits, 3)), draw(_s(string.digits, 4))
    form = draw(st.sampled_from(["+1 {a} {m} {l}", "({a}) {m}-{l}", "{a}-{m}-{l}", "+44 {a} {m} {l}"]))
    shown = form.format(a=area, m=mid, l=last)
    return Pii("phone", shown, (shown, f"{mid}{last}"))


@st.composite
def provider_tokens(draw: st.DrawFn) -> Pii:
    kind = draw(
        st.sampled_from(["openai", "openai-proj", "anthropic", "hf", "github", "gitlab", "slack", "google", "aws"])
    )
    body = draw(_s(ALNUM, 36, 48))
    token = {
        "openai": f"sk-{body}",
        "openai-proj": f"sk-proj-{body}",
        "anthropic": f"sk-ant-api03-{body}",
        "hf": f"hf_{body[:34]}",
        "github": f"ghp_{body[:36]}",
        "gitlab": f"glpat-{body[:20]}",
        "slack": f"xoxb-{draw(_s(string.digits, 12))}-{body[:24]}",
        "google": f"AIza{body[:35]}",
        "aws": "AKIA" + draw(_s(string.ascii_uppercase + string.digits, 16)),
    }[kind]
    return Pii(kind, token, (token, token[-16:]))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def jwts(draw: st.DrawFn) -> Pii:
    header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    payload = _b64(orjson.dumps({"sub": draw(_name()), "exp": draw(st.integers(10**9, 2 * 10**9))}))
    signature = _b64(draw(st.binary(min_size=32, max_size=32)))
    token = f"{header}.{payload}.{signature}"
    return Pii("jwt", token, (payload, signature[:20]))


@st.composite
def home_paths(draw: st.DrawFn) -> Pii:
    dirs = draw(st.lists(_name(6, 9).map(lambda s: "d" + s), min_size=1, max_size=3))
    file = draw(st.sampled_from(["train.py", "data.csv", "adapter_model.safetensors", "notes.txt"]))
    posix = "/".join([HOME, *dirs, file])
    spelling = draw(st.sampled_from(["plain", "backslash", "file-url", "percent", "upper", "tilde"]))
    text = {
        "plain": posix,
        "backslash": posix.replace("/", "\\"),
        "file-url": "file://" + posix,
        "percent": posix.replace("/", "%2F"),
        "upper": posix.replace(HOME_USER, HOME_USER.upper()),
        "tilde": "~/" + "/".join([*dirs, file]),
    }[spelling]
    return Pii("home-path", text, (HOME_USER, *dirs))


@st.composite
def other_home_paths(draw: st.DrawFn) -> Pii:
    user = "usr" + draw(_s(LOWER, 5))
    dirs = draw(st.lists(_name(6, 9).map(lambda s: "d" + s), min_size=0, max_size=2))
    root = draw(st.sampled_from(["/home/{u}", "/Users/{u}", "C:\\Users\\{u}"])).format(u=user)
    sep = "\\" if root.startswith("C:") else "/"
    text = sep.join([root, *dirs, "run.log"])
    return Pii("other-home", text, (user, *dirs))


@st.composite
def secrets_in_text(draw: st.DrawFn) -> Pii:
    value = draw(_s(ALNUM, 10, 16))
    form = draw(
        st.sampled_from(
            [
                "password={v}",
                "api_key: {v}",
                '"client_secret": "{v}"',
                "Authorization: Bearer {v}",
                "https://svc.example.com/cb?access_token={v}&page=1",
                "https://bot:{v}@git.example.com/repo.git",
                "-----BEGIN PRIVATE KEY-----\nMIIE{v}\n-----END PRIVATE KEY-----",
            ]
        )
    )
    return Pii("secret-text", form.format(v=value), (value,))


#: Examples per property; raise it for a deeper local run (PRIVACY_EXAMPLES=5000 pytest tests/privacy).
EXAMPLES = int(os.environ.get("PRIVACY_EXAMPLES", "400"))

PII = st.one_of(
    emails(),
    ipv4s(),
    ipv6s(),
    cards(),
    phones(),
    provider_tokens(),
    jwts(),
    home_paths(),
    other_home_paths(),
    secrets_in_text(),
)

WRAPPERS = [
    "{}",
    "see {} now",
    "({})",
    "'{}'",
    '"{}"',
    "x={}",
    "note: {}",
    "{}, next",
    "[{}]",
    "<{}>",
    "{}\nsecond line",
    "error for {}: retry",
    "https://svc.example.com/p?q={}&page=2",
    "a=1&b={}",
]
BENIGN_KEYS = [
    "config",
    "details",
    "payload",
    "items",
    "meta",
    "info",
    "data",
    "args",
    "extra",
    "context",
    "params",
    "notes",
    "message",
    "value",
    "result",
]
BENIGN_VALUES: list[Any] = ["lora", 16, 2e-4, True, "llama-2-7b", "ok", [1, 2], {"lr": 0.1}]


@st.composite
def embedded(draw: st.DrawFn, pii: Pii) -> Any:
    """The PII text wrapped in prose and buried at a random depth of dicts, lists and JSON strings."""
    value: Any = draw(st.sampled_from(WRAPPERS)).format(pii.text)
    for _ in range(draw(st.integers(0, 4))):
        shape = draw(st.sampled_from(["dict", "list", "json"]))
        if shape == "json" and isinstance(value, (dict, list)):
            value = orjson.dumps(value).decode()
        elif shape == "list":
            items = draw(st.lists(st.sampled_from(BENIGN_VALUES), max_size=2))
            items.insert(draw(st.integers(0, len(items))), value)
            value = items
        else:
            siblings = draw(st.dictionaries(st.sampled_from(BENIGN_KEYS), st.sampled_from(BENIGN_VALUES), max_size=2))
            siblings[draw(st.sampled_from(BENIGN_KEYS))] = value
            value = siblings
    return {draw(st.sampled_from(BENIGN_KEYS)): value}


FIELDS = [
    "name",
    "attributes",
    "event_name",
    "event_attributes",
    "exception",
    "status",
    "link",
    "resource",
    "scope_name",
    "scope_attributes",
    "key",
]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), pii=PII, field=st.sampled_from(FIELDS))
def test_generated_pii_never_survives_a_span(data: st.DataObject, pii: Pii, field: str) -> None:
    anonymizer = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    text = data.draw(st.sampled_from(WRAPPERS)).format(pii.text)
    structure = data.draw(embedded(pii))
    resource = Resource.create(structure) if field == "resource" else None
    pipeline = make_pipeline(anonymizer, resource)
    tracer = pipeline.provider.get_tracer(
        text if field == "scope_name" else "peft.scope",
        attributes=structure if field == "scope_attributes" else None,
    )
    with tracer.start_as_current_span("ctx") as parent:
        ctx = parent.get_span_context()
    links = [Link(ctx, structure)] if field == "link" else []
    attributes = structure if field == "attributes" else {"lora_r": 16}
    if field == "key":
        attributes = {text: 1, "nested": {text: "v"}}
    with tracer.start_as_current_span(text if field == "name" else "train", attributes=attributes, links=links) as span:
        if field == "event_name":
            span.add_event(text)
        if field == "event_attributes":
            span.add_event("step", structure)
        if field == "exception":
            span.record_exception(RuntimeError(text))
        if field == "status":
            span.set_status(Status(StatusCode.ERROR, text))
    stored = pipeline.spans()[-1]
    pipeline.provider.shutdown()
    strings = [s.lower() for s in all_strings(stored)]
    for needle in pii.needles:
        leaks = [s for s in strings if needle.lower() in s]
        assert not leaks, f"{pii.kind} {needle!r} survived via {field}: {leaks}"


@settings(max_examples=EXAMPLES // 2, deadline=None)
@given(pii=PII, data=st.data())
def test_generated_pii_never_survives_scrub_value(pii: Pii, data: st.DataObject) -> None:
    anonymizer = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    cleaned, counts = anonymizer.scrub_value(data.draw(embedded(pii)))
    strings = [s.lower() for s in _strings_of(cleaned)]
    for needle in pii.needles:
        assert not [s for s in strings if needle.lower() in s], f"{pii.kind} {needle!r} survived"
    assert counts  # something was counted for every generated item


def _strings_of(value: Any) -> list[str]:
    """Every key and string in a value, JSON strings parsed too."""
    if isinstance(value, str):
        out = [value]
        try:
            out += _strings_of(orjson.loads(value))
        except orjson.JSONDecodeError:
            pass
        return out
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_strings_of(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings_of(v)]
    return []


@settings(max_examples=150, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=12,
    )
)
def test_any_value_becomes_valid_otel_attributes(value: Any) -> None:
    anonymizer = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
    attrs, _ = anonymizer.scrub_attributes({"v": value})
    for key, item in attrs.items():
        assert isinstance(key, str)
        if isinstance(item, tuple):
            assert len({type(x) for x in item}) <= 1
            assert all(isinstance(x, (str, bool, int, float)) for x in item)
        else:
            assert isinstance(item, (str, bool, int, float))
        if isinstance(item, float):
            assert item == item and item not in (float("inf"), float("-inf"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=st.text(alphabet="ab_Z1.-:= \t\"'<&x\n", max_size=40))
def test_reversed_key_value_pattern_finds_exactly_the_forward_heads(text: str) -> None:
    """The scanner finds key=value heads with patterns.KV_REV over the reversed text; KV is the readable
    forward form. Both must agree on every head (its key's start and end)."""
    import re

    from processors.anonymizer import patterns

    forward = re.compile(patterns.KV)
    expected = set()
    for start in range(len(text)):
        m = forward.match(text, start)
        if m is not None:
            expected.add((start, m.end("kv_key")))
    n = len(text)
    found = {(n - m.end("key"), n - m.start("key")) for m in patterns.KV_REV.finditer(text[::-1])}
    assert found == expected
