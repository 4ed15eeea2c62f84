"""Planted effects are found where they were planted; data built the same way without them flags nothing.

The null runs are many series over several seeds, so the observed false-alarm rate is a measurement, not
an anecdote; the figures are printed (``-s``) and the assertions bound them by the stated targets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from _insights_data import DAY, HOUR, MONDAY, Plan, build, fleet_rows
from conftest import BURST_HOUR, report_of

from analytics.insights import InsightsReport

NULL_SEEDS = range(100, 106)
NULL_SERIES = 60


def test_the_planted_slowdown_is_found_with_its_version_and_start(planted: InsightsReport) -> None:
    found = {r.series: r for r in planted.regressions.items}
    assert set(found) == {"load_model"}, "only the planted series regressed"
    r = found["load_model"]
    assert r.kind == "span"
    assert (r.version, r.previous_version) == ("1.2.0", "1.1.0")
    # 1.2.0 ships on day 14: the change starts with its first sample, within the first hours of the day.
    assert MONDAY + 14 * DAY <= r.change_ns < MONDAY + 14 * DAY + 12 * HOUR
    assert r.relative_change is not None and 0.2 < r.relative_change < 0.5  # planted x1.35 on the median
    assert r.after_p95 > r.before_p95 and r.after_p50 > r.before_p50
    assert r.p_value < planted.regressions.alpha
    assert r.before_count >= planted.regressions.min_samples and r.after_count >= planted.regressions.min_samples


@pytest.mark.parametrize(
    ("series", "kind"), [("GET /api/models", "http"), ("training_step_time", "performance")]
)  # the span road is the fixture's
def test_a_slowdown_is_found_on_every_road(tmp_path: Path, series: str, kind: str) -> None:
    plan = Plan(seed=11, slowdown=1.3, slow_series=series, slow_version="1.3.0")
    report = report_of(build(tmp_path / "slow.duckdb", fleet_rows(plan)))
    assert [(r.series, r.kind, r.version) for r in report.regressions.items] == [(series, kind, "1.3.0")]
    assert MONDAY + 21 * DAY <= report.regressions.items[0].change_ns < MONDAY + 21 * DAY + 12 * HOUR


def test_the_error_burst_is_found_on_its_hour(planted: InsightsReport) -> None:
    items = planted.anomalies.items
    assert {(a.series, a.direction) for a in items} == {("OutOfMemoryError", "spike"), ("(all errors)", "spike")}
    moment = datetime.fromtimestamp((MONDAY + BURST_HOUR * HOUR) / 1e9, UTC)
    for a in items:
        assert a.window_start_ns == MONDAY + BURST_HOUR * HOUR and a.window_end_ns == a.window_start_ns + HOUR
        assert (a.date, a.day_of_week, a.hour) == (moment.date().isoformat(), "Sat", 14)
        assert a.measure == "errors" and a.kind == "error"
        assert a.observed >= 25 and a.expected < 3 and a.score > 5


def test_the_rising_event_type_is_the_only_trend(planted: InsightsReport) -> None:
    t = planted.trends
    assert [x.series for x in t.rising] == ["adapter_exported"] and t.falling == []
    rising = t.rising[0]
    assert rising.rate_ratio is not None and 1.5 < rising.rate_ratio < 2.6
    assert rising.ratio_ci_high is not None and rising.ratio_ci_low < 2.0 < rising.ratio_ci_high
    assert t.recent_days == 7 and t.earlier_days == 21  # whole weeks: the weekly rhythm cancels out
    assert t.series_tested == 5


def test_the_heatmap_shows_the_rhythm_in_utc(planted: InsightsReport) -> None:
    h = planted.heatmap
    assert h.timezone == "UTC" and len(h.hour_of_week) == 168
    grid = {(c.day_of_week, c.hour): c.count for c in h.hour_of_week}
    weekday_afternoon = sum(grid[(d, 14)] for d in range(5)) / 5
    weekend_afternoon = sum(grid[(d, 14)] for d in (5, 6)) / 2
    weekday_night = sum(grid[(d, 2)] for d in range(5)) / 5
    assert weekday_afternoon > 2 * weekend_afternoon and weekday_afternoon > 4 * weekday_night
    assert h.versions == ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
    assert h.features[0] == "model_loaded"  # the most used event type
    cells = [c for c in h.feature_by_version if c.version == "1.3.0"]
    assert abs(sum(c.share for c in cells) - 1) < 1e-4
    assert sum(c.count for c in h.feature_by_version) == sum(grid.values())


@pytest.fixture(scope="module")
def null_reports(tmp_path_factory: pytest.TempPathFactory) -> list[InsightsReport]:
    folder = tmp_path_factory.mktemp("null")
    return [
        report_of(build(folder / f"null-{seed}.duckdb", fleet_rows(Plan(seed=seed, null_series=NULL_SERIES))))
        for seed in NULL_SEEDS
    ]


def test_null_data_flags_nothing(null_reports: list[InsightsReport]) -> None:
    series = sum(r.regressions.series_examined for r in null_reports)
    regressions = sum(len(r.regressions.items) for r in null_reports)
    hours = sum(r.anomalies.hours_examined for r in null_reports)
    anomalies = sum(len(r.anomalies.items) for r in null_reports)
    trend_series = sum(r.trends.series_tested for r in null_reports)
    trends = sum(len(r.trends.rising) + len(r.trends.falling) for r in null_reports)
    print(
        f"\nnull data, {len(null_reports)} seeds: regressions {regressions}/{series} series, "
        f"anomalies {anomalies}/{hours} series-hours, trends {trends}/{trend_series} series"
    )
    assert series >= 360 and hours >= 20_000
    assert regressions / series <= 0.01, "target: at most 1% of null series flagged"
    assert anomalies == 0 and trends == 0


def test_short_or_empty_logs_judge_nothing_instead_of_guessing(tmp_path: Path) -> None:
    short = report_of(build(tmp_path / "short.duckdb", fleet_rows(Plan(seed=3, days=8))))
    assert short.anomalies.hours_examined == 0 and short.anomalies.items == []  # needs 2 other weeks
    assert 3.9 < short.trends.recent_days <= 4 and abs(short.trends.recent_days - short.trends.earlier_days) < 0.01
    empty = report_of(build(tmp_path / "empty.duckdb", []))
    assert empty.trends.series_tested == 0 and empty.regressions.items == [] and empty.experiments.items == []
    assert sum(c.count for c in empty.heatmap.hour_of_week) == 0
