"""Experiment analysis over logs holding many installs: a known effect is detected at the power the design
predicts, a broken split is flagged, too few units are said to be too few, pre-exposure events never count."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from _analytics_helpers import opener
from _insights_data import Arm, build, experiment_rows
from conftest import report_of

from analytics.insights import Insights, InsightsFilter, _stats
from analytics.insights.models import Experiment

SIMULATIONS = 20
UNITS = 800  # 400 per arm
CONTROL_RATE, TREATMENT_RATE = 0.30, 0.40


def _one(path: Path, arms: list[Arm], units: int, seed: int) -> Experiment:
    report = report_of(build(path, experiment_rows(arms, units, seed)))
    assert len(report.experiments.items) == 1
    return report.experiments.items[0]


def _arms(control_share: float = 0.5) -> list[Arm]:
    return [
        Arm("control", control_share, 0.5, CONTROL_RATE, 1000.0),
        Arm("checklist", 1 - control_share, 0.5, TREATMENT_RATE, 900.0),
    ]


def _power(p1: float, p2: float, n: int, alpha: float = 0.05) -> float:
    se = math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
    return _stats.norm_sf(_stats.norm_ppf_upper(alpha / 2) - abs(p2 - p1) / se)


def test_a_known_effect_is_detected_at_the_stated_power(tmp_path: Path) -> None:
    detected = srm = 0
    for seed in range(SIMULATIONS):
        result = _one(tmp_path / f"ab-{seed}.duckdb", _arms(), UNITS, seed)
        assert result.enough_units
        srm += result.srm_flagged  # a fair split is flagged 1% of the time, by design
        goal = next(g for g in result.goals if g.goal == "tutorial_completed")
        treatment = goal.variants[1]
        assert treatment.p_value is not None and treatment.diff_ci_low is not None
        detected += treatment.p_value < 0.05 and treatment.diff_ci_low > 0
    power = _power(CONTROL_RATE, TREATMENT_RATE, UNITS // 2)
    spread = math.sqrt(power * (1 - power) / SIMULATIONS)
    print(f"\nexperiment: detected {detected}/{SIMULATIONS}, stated power {power:.2f}; SRM flags {srm}")
    assert detected / SIMULATIONS >= power - 3 * spread
    assert srm <= 2


def test_one_simulation_reads_right(tmp_path: Path) -> None:
    result = _one(tmp_path / "ab.duckdb", _arms(), UNITS, 99)
    assert result.series == "onboarding" and result.units == UNITS
    assert [v.variant for v in result.variants] == ["control", "checklist"]
    assert sum(v.units for v in result.variants) == UNITS
    assert all(v.expected_share == 0.5 for v in result.variants)
    goal = next(g for g in result.goals if g.goal == "tutorial_completed")
    control, treatment = goal.variants
    assert control.p_value is None and control.lift is None  # the control is the reference
    # Every fourth unit completed the tutorial *before* its first exposure: not counted.
    assert abs(control.rate - CONTROL_RATE) < 0.08 and abs(treatment.rate - TREATMENT_RATE) < 0.08
    assert control.ci_low < control.rate < control.ci_high
    metric = next(m for m in result.metrics if m.metric == "setup_time")
    assert metric.unit == "ms"
    assert metric.variants[1].diff is not None and metric.variants[1].diff < 0
    assert metric.variants[1].p_value is not None and metric.variants[1].p_value < 0.01
    low, high = metric.variants[0].ci_low, metric.variants[0].ci_high
    assert low is not None and high is not None and low < 1000 < high
    # app_started happens in every session after exposure: every unit converts, nothing to compare, so
    # it is left out unless asked for.
    assert all(g.goal != "app_started" for g in result.goals)
    asked = Insights(opener(tmp_path / "ab.duckdb")).report(InsightsFilter(goals=["app_started"]))
    (started,) = asked.experiments.items[0].goals
    assert started.goal == "app_started" and all(v.conversions == v.units for v in started.variants)


def test_events_before_the_first_exposure_do_not_count(tmp_path: Path) -> None:
    arms = [Arm("control", 0.5, 0.5, 0.0, 1000.0), Arm("checklist", 0.5, 0.5, 0.0, 1000.0)]
    result = _one(tmp_path / "pre.duckdb", arms, 200, 5)
    assert all(g.goal != "tutorial_completed" for g in result.goals)


def test_a_sample_ratio_mismatch_is_flagged(tmp_path: Path) -> None:
    result = _one(tmp_path / "srm.duckdb", _arms(control_share=0.56), 2000, 3)
    assert result.srm_flagged and result.srm_p_value is not None and result.srm_p_value < 0.01
    assert "mismatch" in result.message.lower()
    fair = _one(tmp_path / "fair.duckdb", _arms(), 2000, 3)
    assert not fair.srm_flagged and fair.srm_p_value is not None and fair.srm_p_value > 0.01


@pytest.mark.parametrize(("units", "words"), [(1, "one unit"), (20, "too few units")])
def test_too_few_units_are_said_to_be_too_few(tmp_path: Path, units: int, words: str) -> None:
    result = _one(tmp_path / "few.duckdb", _arms(), units, 11)
    assert not result.enough_units and words in result.message.lower()
