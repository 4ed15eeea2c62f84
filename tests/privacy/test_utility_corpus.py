"""Utility and leaks, measured together: benign telemetry survives (>= 95%), personal data does not (0)."""

from __future__ import annotations

from _privacy_corpus import BENIGN, PERSONAL, PERSONAL_BY_KEY

from processors.anonymizer import Anonymizer


def test_corpus_sizes_are_meaningful() -> None:
    assert len(BENIGN) >= 200
    assert len({str(v) for _, v in BENIGN}) >= 190  # mostly distinct values, not one value repeated


def test_benign_corpus_survives_and_personal_corpus_does_not(anon: Anonymizer) -> None:
    changed = []
    for key, value in BENIGN:
        attrs, _ = anon.scrub_attributes({key: value})
        if attrs != {key: value}:
            changed.append((key, value, attrs))
    survival = 1 - len(changed) / len(BENIGN)

    leaks = []
    for key, value, needle in PERSONAL:
        attrs, counts = anon.scrub_attributes({"context": value})  # harmless key: the value rules must act
        keyed, _ = anon.scrub_attributes({key: value})
        stored = " ".join(f"{k}={v}" for k, v in {**attrs, **keyed}.items())
        if needle in stored or not counts:
            leaks.append((key, value, stored))
    for key, value, needle in PERSONAL_BY_KEY:
        attrs, _ = anon.scrub_attributes({key: value})
        stored = " ".join(f"{k}={v}" for k, v in attrs.items())
        if needle in stored:
            leaks.append((key, value, stored))
    total = len(PERSONAL) + len(PERSONAL_BY_KEY)

    print(f"\nutility corpus: {len(BENIGN) - len(changed)}/{len(BENIGN)} values unchanged ({survival:.1%})")
    print(f"personal corpus: {len(leaks)} leaks out of {total} items")
    for key, value, attrs in changed:
        print(f"  changed: {key}={value!r} -> {attrs}")
    assert leaks == []
    assert survival >= 0.95
