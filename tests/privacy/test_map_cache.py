"""The whole-map cache in front of span attributes: a repeat costs a lookup, never a different answer."""

from __future__ import annotations

import math
from typing import Any

import orjson
from _privacy_helpers import HOME, SECRET
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

from processors.anonymizer import Anonymizer, PrivacyPolicy
from processors.anonymizer.mapcache import MapCache, fingerprint

RESOURCE = Resource.create({"service.name": "peft-studio"})


def span(attributes: dict[str, Any], n: int = 1) -> ReadableSpan:
    return ReadableSpan(
        name="training_started",
        context=SpanContext(n, n, is_remote=False),
        resource=RESOURCE,
        attributes=attributes,
        start_time=n,
        end_time=n,
    )


def stored(anon: Anonymizer, attributes: dict[str, Any], n: int = 1) -> bytes:
    """The scrubbed attributes as exact text: orjson tells True from 1 from 1.0, and -0.0 from 0.0."""
    return orjson.dumps(dict(anon.scrub_span(span(attributes, n)).attributes or {}))


def cache(anon: Anonymizer) -> MapCache:
    return anon._spans.attribute_maps


PROPERTIES = {
    "model_name": "llama-2-7b",
    "email": "alice@example.com",
    "dataset_path": f"{HOME}/datasets/alpaca.json",
    "lora_r": 16,
    "learning_rate": 2e-4,
    "fp16": True,
}


def test_a_repeated_map_is_served_from_the_cache_with_the_same_result_and_counts(anon: Anonymizer) -> None:
    first = stored(anon, dict(PROPERTIES), 1)
    hits = cache(anon).hits_total
    second = stored(anon, dict(PROPERTIES), 2)
    assert cache(anon).hits_total == hits + 1
    assert first == second
    clean = orjson.loads(second)
    assert "alice@example.com" not in second.decode() and "zqxalice" not in second.decode()
    assert orjson.loads(clean["peft.redactions"]) == {"key.email": 1, "path.home": 1}


def test_values_equal_in_python_but_stored_differently_are_kept_apart(anon: Anonymizer) -> None:
    # True == 1 == 1.0 and -0.0 == 0.0 in Python; NaN and infinity are both "null" in JSON.
    for value in (True, 1, 1.0, 0.0, -0.0, math.nan, math.inf, -math.inf, "1", False, 0):
        fresh = Anonymizer(PrivacyPolicy(), secret=lambda: SECRET, home_dir=HOME)
        expected = stored(fresh, {"x": value})
        assert stored(anon, {"x": value}) == expected, value
        assert stored(anon, {"x": value}) == expected, value  # and again, now possibly from the cache


def test_hashed_identifiers_follow_a_rotated_secret(anon: Anonymizer) -> None:
    secret = [SECRET]
    rotating = Anonymizer(PrivacyPolicy(), secret=lambda: secret[0], home_dir=HOME)
    before = orjson.loads(stored(rotating, {"user_id": "u-42", "model_name": "m"}))
    secret[0] = b"another secret of at least 16 bytes"
    after = orjson.loads(stored(rotating, {"user_id": "u-42", "model_name": "m"}))
    assert before["user_id"] != after["user_id"]
    assert after["user_id"] == rotating.hash_identifier("u-42")


def test_clear_caches_forgets_the_maps(anon: Anonymizer) -> None:
    stored(anon, dict(PROPERTIES))
    anon.clear_caches()
    misses = cache(anon).misses_total
    stored(anon, dict(PROPERTIES))
    assert cache(anon).misses_total == misses + 1


def test_maps_that_cannot_be_fingerprinted_exactly_are_not_cached() -> None:
    class Text(str):
        pass

    assert fingerprint({"a": "x", "b": 1, "c": 1.5, "d": False}) is not None
    assert fingerprint({"a": ("x", "y")}) is None  # sequences: scrubbed by element type
    assert fingerprint({"a": Text("x")}) is None  # subclasses may render differently
    assert fingerprint({1: "x"}) is None  # type: ignore[dict-item]
    assert fingerprint({"a": math.nan}) is None  # written as null, like infinity
    assert fingerprint({"a": 2**70}) is None  # beyond 64 bits
    assert fingerprint({"a": "\ud800"}) is None  # a lone surrogate
    assert fingerprint({"a": "x" * 10_000}) is None  # bounded memory


def test_a_workload_without_repeats_turns_the_cache_off_and_loses_nothing(anon: Anonymizer) -> None:
    for step in range(600):
        clean = orjson.loads(stored(anon, {"step": step, "email": f"u{step}@example.com"}, step + 1))
        assert clean["step"] == step and "email" not in clean
    assert cache(anon).misses_total < 600  # bypassed after a window of misses


SCALARS = st.one_of(
    st.text(max_size=30),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["alice@example.com", f"{HOME}/x.json", "llama-2-7b", "4111 1111 1111 1111", "0.0.0.0"]),
)
KEYS = st.sampled_from(["model_name", "email", "path", "user_id", "lora_r", "x", "token", "version", "ip"])


@settings(max_examples=200, deadline=None)
@given(maps=st.lists(st.dictionaries(KEYS, SCALARS, max_size=6), min_size=1, max_size=6))
def test_cached_results_equal_a_fresh_engine_on_any_sequence_of_maps(maps: list[dict[str, Any]]) -> None:
    cached = Anonymizer(PrivacyPolicy(), secret=lambda: SECRET, home_dir=HOME)
    for attributes in maps + maps:  # every map at least twice: the second time may come from the cache
        fresh = Anonymizer(PrivacyPolicy(), secret=lambda: SECRET, home_dir=HOME)
        assert stored(cached, attributes) == stored(fresh, attributes)
