"""Hypothesis composes the red team's moves: a personal core, an encoding, a placement, a split.

Cores are people's names, user names in paths, e-mail addresses, phone and card numbers, passwords in prose
and corporate hosts; encodings are the ones the red team used (fullwidth, zero-width characters, single and
double percent-encoding, HTML entities, base64, ``[at]``/``[dot]``); placements are every string a span can
carry (name, attribute value and key, event name, status, exception message, link attribute, JSON inside a
string, a list split in pieces). The scrubbed span, read back as text, must not hold the core.
"""

from __future__ import annotations

import base64
import html
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import orjson
from _privacy_helpers import HOME, SECRET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from processors.anonymizer import Anonymizer

ANON = Anonymizer(secret=lambda: SECRET, home_dir=HOME)
_GIVEN = ("Siobhan", "Priyanka", "Oluwaseun", "Grzegorz", "Thandiwe", "Yevgenia", "Anneliese", "Saoirse")
_FAMILY = ("Okonkwo", "Raghunathan", "Brzezinski", "Nakashima", "Vasquez-Ortega", "Abernathy", "Quispe")
_USERS = ("jsmithers", "okonkwo_s", "praghu", "gbrzez", "tnkosi77")
_CORPS = ("acme-corp", "initech", "globex-labs", "umbrella-bio")


@dataclass(frozen=True)
class Core:
    text: str
    needles: tuple[str, ...]


@st.composite
def cores(draw: st.DrawFn) -> Core:
    given_name, family = draw(st.sampled_from(_GIVEN)), draw(st.sampled_from(_FAMILY))
    user, corp = draw(st.sampled_from(_USERS)), draw(st.sampled_from(_CORPS))
    kind = draw(st.integers(0, 6))
    if kind == 0:
        return Core(f"reviewed by {given_name} {family}", (family.lower(),))
    if kind == 1:
        return Core(f"{given_name.lower()}.{family.lower()}@{corp}.com", (family.lower(),))
    if kind == 2:
        return Core(f"/home/{user}/runs/exp-1/adapter.bin", (user,))
    if kind == 3:
        return Core(f"my password is Xq{user}77!", (f"xq{user}77",))
    if kind == 4:
        return Core(f"push to git.{corp}.internal failed", (corp,))
    if kind == 5:
        return Core("call +44 7911 123456 today", ("7911 123456", "7911123456"))
    return Core("card 4111 1111 1111 1111 declined", ("1111 1111 1111",))


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "fullwidth": lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s),
    "zero_width": lambda s: "\u200b".join(s),
    "percent": lambda s: quote(s, safe=""),
    "double_percent": lambda s: quote(quote(s, safe=""), safe=""),
    "html": lambda s: "".join(f"&#{ord(c)};" if c in "@./" else c for c in s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "at_dot": lambda s: s.replace("@", " [at] ").replace(".", " [dot] "),
}
_CONTEXT = SpanContext(1, 2, False, TraceFlags(1))


def _span(placement: str, value: str) -> ReadableSpan:
    attrs: dict[str, object] = {"ok": 1}
    name, events, links, status = "step", [], [], Status(StatusCode.UNSET)
    if placement == "name":
        name = value
    elif placement == "attribute":
        attrs["detail"] = value
    elif placement == "key":
        attrs[value] = 1
    elif placement == "event":
        events = [Event(value, {"detail": value})]
    elif placement == "status":
        status = Status(StatusCode.ERROR, value)
    elif placement == "exception":
        events = [Event("exception", {"exception.type": "ValueError", "exception.message": value})]
    elif placement == "link":
        links = [Link(_CONTEXT, {"detail": value})]
    elif placement == "json":
        attrs["payload"] = orjson.dumps({"items": [{"note": value}]}).decode()
    elif placement == "split":
        attrs["parts"] = tuple(value[i : i + 3] for i in range(0, len(value), 3))
    return ReadableSpan(
        name, _CONTEXT, None, Resource({}), attrs, events, links, SpanKind.INTERNAL, None, status, 1, 2,
        InstrumentationScope("t"),
    )  # fmt: skip


def _stored_text(span: ReadableSpan) -> str:
    parts = [span.name, orjson.dumps(dict(span.attributes or {})).decode(), str(span.status.description)]
    for event in span.events:
        parts += [event.name, orjson.dumps(dict(event.attributes or {})).decode()]
    for link in span.links:
        parts.append(orjson.dumps(dict(link.attributes or {})).decode())
    return unicodedata.normalize("NFKC", html.unescape(" ".join(parts))).replace("\u200b", "").lower()


PLACEMENTS = ("name", "attribute", "key", "event", "status", "exception", "link", "json", "split")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(core=cores(), encoding=st.sampled_from(sorted(ENCODINGS)), placement=st.sampled_from(PLACEMENTS))
def test_composed_attacks_never_survive_a_span(core: Core, encoding: str, placement: str) -> None:
    value = ENCODINGS[encoding](core.text)
    clean = ANON.scrub_span(_span(placement, value))
    stored = _stored_text(clean)
    for needle in core.needles:
        assert needle not in stored, (encoding, placement, value, stored)
    assert value.lower() not in stored or len(value) < 6
