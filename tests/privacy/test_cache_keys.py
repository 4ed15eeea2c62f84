"""Caches key on everything a decision depends on: no result crosses from one key, mode or event to another.

A string's fate depends on the string, the key it travels under (denied, hashed, version), and whether the
event's catalog declares that key. Each pair below is scrubbed in both orders, so a cache keyed on too
little (the string alone) returns the first result for the second and fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from _privacy_helpers import HOME, SECRET

from processors.anonymizer import Anonymizer, EventDeclarations, PropertySpec

CATALOG = EventDeclarations({"training_started": {"optimizer": PropertySpec("string")}})


def _anon() -> Anonymizer:
    return Anonymizer(secret=lambda: SECRET, home_dir=HOME, catalog=CATALOG)


def _event(event_type: str, **props: Any) -> dict[str, Any]:
    return {"peft.category": "event", "peft.event_type": event_type, **props}


@pytest.mark.parametrize("first_allowed", [True, False])
def test_a_value_kept_under_a_version_key_is_removed_under_a_host_key(first_allowed: bool) -> None:
    anon = _anon()
    order = [("driver_version", True), ("server", False), ("note", False)]
    if not first_allowed:
        order.reverse()
    for key, kept in order:
        attrs, _ = anon.scrub_attributes({key: "10.1.2.3"})
        assert (attrs.get(key) == "10.1.2.3") is kept, (key, attrs)


@pytest.mark.parametrize("declared_first", [True, False])
def test_declared_and_free_text_results_never_cross(declared_first: bool) -> None:
    anon = _anon()
    value = "zqxvelmor_opt"  # an unknown word: free text replaces it, a declaration keeps it
    cases = [(_event("training_started", optimizer=value), value), (_event("other", optimizer=value), "<word>")]
    if not declared_first:
        cases.reverse()
    for attrs, expected in cases * 2:  # twice: the second round is served from the caches
        counts: dict[str, int] = {}
        clean = anon._spans._span_attributes(attrs, counts)
        assert clean["optimizer"] == expected, attrs


def test_a_hashed_key_never_serves_or_stores_a_cached_text() -> None:
    anon = _anon()
    plain, _ = anon.scrub_attributes({"note": "u-1234"})
    hashed, _ = anon.scrub_attributes({"user_id": "u-1234"})
    again, _ = anon.scrub_attributes({"note": "u-1234"})
    assert plain == again == {"note": "u-1234"}
    assert hashed["user_id"] != "u-1234" and len(hashed["user_id"]) == 16


def test_the_key_a_value_is_found_under_decides_not_the_cache() -> None:
    anon = _anon()
    for _ in range(2):
        assert anon.scrub_attributes({"comment": "c0ffee55319a"})[0] == {"comment": "c0ffee55319a"}
        assert anon.scrub_attributes({"contraseña": "c0ffee55319a"})[0] == {}
        assert anon.scrub_value({"passwort": "c0ffee55319a"})[0] == {}


def test_a_word_whose_fate_depends_on_its_sentence_is_never_served_from_the_cache() -> None:
    anon = _anon()
    for _ in range(2):
        assert anon.scrub_text("Li finished the run")[0] == "Li finished the run"  # sentence start
        assert anon.scrub_text("run finished by Li today")[0] == "run finished by <name> today"
        assert anon.scrub_text("Baker finished the run")[0] == "Baker finished the run"
        assert anon.scrub_text("run reviewed by Baker today")[0] == "run reviewed by <name> today"
