"""``telemetry.experiment``: deterministic, uniform over installs, independent across experiments, drawn
afresh after ``delete_all``, one exposure per session, and nothing at all while consent is off."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

import telemetry
from analytics.insights import _stats
from exporters.eventlog import schema
from telemetry.experiments import ExperimentConfigError, choose_variant, experiment_for
from telemetry.settings import TelemetrySettings
from telemetry.testing import recording_service, stored_events

INSTALLS = 10_000


def _secrets(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(INSTALLS)]


def test_assignment_is_deterministic_and_uniform_over_installs() -> None:
    secrets = _secrets(1)
    variants, weights = ["control", "grid", "cards"], [2.0, 1.0, 1.0]
    picks = [choose_variant(s, "model_picker", variants, weights) for s in secrets]
    assert picks == [choose_variant(s, "model_picker", variants, weights) for s in secrets]
    counts = Counter(picks)
    p = _stats.chi_square_gof([counts[v] for v in variants], [0.5, 0.25, 0.25])
    assert p is not None and p > 0.001, f"split {counts} is not the declared 2:1:1 (p={p})"


def test_assignment_is_independent_across_experiments() -> None:
    secrets = _secrets(2)
    a = [choose_variant(s, "onboarding_checklist", ["off", "on"]) for s in secrets]
    b = [choose_variant(s, "new_trainer_ui", ["old", "new"]) for s in secrets]
    table = Counter(zip(a, b, strict=True))
    # Chi-square test of independence on the 2x2 table (1 degree of freedom).
    rows, cols = Counter(a), Counter(b)
    stat = sum(
        (table[(r, c)] - rows[r] * cols[c] / INSTALLS) ** 2 / (rows[r] * cols[c] / INSTALLS) for r in rows for c in cols
    )
    assert _stats.chi2_sf(stat, 1) > 0.001, f"variants of two experiments are related: {table}"


def test_same_install_same_variant_after_a_restart_and_a_new_one_after_delete_all(tmp_path: Path) -> None:
    names = [f"experiment_{i}" for i in range(40)]
    with recording_service(tmp_path / "home") as service:
        first = [experiment_for(service, n, ["a", "b"]) for n in names]
        unit = service.anonymous_user_id
    with recording_service(tmp_path / "home") as service:
        assert [experiment_for(service, n, ["a", "b"]) for n in names] == first
        service.delete_all().result(30)
        redrawn = [experiment_for(service, n, ["a", "b"]) for n in names]
        exposures = stored_events(service)
    changed = sum(x != y for x, y in zip(first, redrawn, strict=True))
    assert 5 <= changed <= 35, "a rotated secret draws every experiment afresh (about half change)"
    # The fresh log holds only the new unit's exposures, one per experiment.
    assert len(exposures) == len(names)
    assert {e["attributes"][schema.ATTR_EXPERIMENT_UNIT] for e in exposures} == {service.anonymous_user_id}
    assert service.anonymous_user_id != unit


def test_one_exposure_per_session_with_what_the_analysis_needs(tmp_path: Path) -> None:
    with recording_service(tmp_path / "home") as service:
        variant = {experiment_for(service, "onboarding", ["control", "checklist"], [3, 1]) for _ in range(5)}
        events = stored_events(service, category="event")
    assert len(variant) == 1
    assert [e["event_type"] for e in events] == [schema.EXPOSURE_EVENT_TYPE]
    attrs = events[0]["attributes"]
    assert attrs[schema.ATTR_EXPERIMENT_NAME] == "onboarding"
    assert attrs[schema.ATTR_EXPERIMENT_VARIANT] == variant.pop()
    assert attrs[schema.ATTR_EXPERIMENT_VARIANTS] == ["control", "checklist"]
    assert attrs[schema.ATTR_EXPERIMENT_WEIGHTS] == [0.75, 0.25]
    assert attrs[schema.ATTR_EXPERIMENT_UNIT] == service.anonymous_user_id
    assert events[0]["session_id"] == service.session_id


def test_consent_off_returns_the_control_records_nothing_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setattr("telemetry.api._default", None)  # restored afterwards: no test sees this service
    service = telemetry.configure(TelemetrySettings(home=home, install_global=False, sample_resources=False))
    try:
        before = sorted(p.relative_to(home) for p in home.rglob("*"))
        # No keyed hash either: the control is returned before the secret is touched.
        monkeypatch.setattr("telemetry.experiments.bucket", lambda *_: pytest.fail("hashed without consent"))
        assert {telemetry.experiment("onboarding", ["control", "checklist"]) for _ in range(3)} == {"control"}
        assert sorted(p.relative_to(home) for p in home.rglob("*")) == before
        assert service.stats().queued == 0 and service.stats().processed == 0
    finally:
        service.shutdown(timeout=10)


@pytest.mark.parametrize(
    ("variants", "weights"),
    [(["only"], None), (["a", "a"], None), ("ab", None), (["a", "b"], [1.0]), (["a", "b"], [0, 0]),
     (["a", "b"], [1, float("nan")]), (["a", ""], None)],
)  # fmt: skip
def test_wrong_configuration_raises_a_typed_error_even_with_consent_off(
    tmp_path: Path, variants: list[str], weights: list[float] | None
) -> None:
    with recording_service(tmp_path / "home", enabled=False) as service, pytest.raises(ExperimentConfigError):
        experiment_for(service, "broken", variants, weights)
