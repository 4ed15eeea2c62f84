"""Insights over a fleet lake of many installs (``_insights_lake``): planted effects found, every group of
fewer than k installs left out and counted (checked against DuckDB run directly over the Parquet files),
and the same report on DuckDB and on the Spark standalone cluster (one Spark run, whole reports compared)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _fleet_helpers import CLI, ROOT
from _insights_lake import (
    BETA,
    FLEET_BURST_HOUR,
    HOUR,
    INSTALLS,
    MONDAY,
    NIGHT_OWLS,
    SOLO_BURST_HOUR,
    TINY_ARM,
    arm_of,
    build_lake,
)
from _spark_cluster import SMALL, SparkCluster

from analytics.fleet.insights import fleet_insights
from analytics.insights.models import InsightsFilter, InsightsReport
from exporters.eventlog.schema import EXPOSURE_EVENT_TYPE
from telemetry.cli.main import main

K = 5


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("insights-lake"))


@pytest.fixture(scope="module")
def report(lake: Path) -> InsightsReport:
    return fleet_insights(lake, min_installs=K)


def _parquet(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """DuckDB straight over the files, deduplicated by share_id: the independent computation."""
    glob = str(lake / "spans" / "day=*" / "*.parquet")
    view = f"(SELECT * FROM read_parquet('{glob}') QUALIFY row_number() OVER (PARTITION BY share_id) = 1)"
    return duckdb.sql(sql.replace("{spans}", view)).fetchall()


def test_the_planted_regression_and_experiment_effect_are_found(report: InsightsReport) -> None:
    slow = [r for r in report.regressions.items if r.series == "load_model"]
    assert len(slow) == 1
    assert (slow[0].version, slow[0].previous_version) == ("1.2.0", "1.1.0")  # the beta (2 installs) never named
    assert slow[0].relative_change is not None and 0.35 < slow[0].relative_change < 0.65
    onboarding = next(e for e in report.experiments.items if e.series == "onboarding")
    assert onboarding.enough_units and not onboarding.srm_flagged
    assert [(v.variant, v.units) for v in onboarding.variants] == [("control", 40), ("checklist", 40)]
    goal = next(g for g in onboarding.goals if g.goal == "tutorial_completed")
    treatment = goal.variants[1]
    assert treatment.p_value is not None and treatment.p_value < 0.01
    assert treatment.diff_ci_low is not None and treatment.diff_ci_low > 0
    setup = next(m for m in onboarding.metrics if m.metric == "setup_time")
    assert setup.variants[1].diff is not None and setup.variants[1].diff < 0
    assert setup.variants[1].p_value is not None and setup.variants[1].p_value < 0.01


def test_a_spike_of_many_installs_is_reported_one_of_a_single_install_is_not(report: InsightsReport) -> None:
    spikes = {(a.series, a.window_start_ns) for a in report.anomalies.items if a.direction == "spike"}
    fleet, solo = MONDAY + FLEET_BURST_HOUR * HOUR, MONDAY + SOLO_BURST_HOUR * HOUR
    assert ("OutOfMemoryError", fleet) in spikes and ("(all errors)", fleet) in spikes
    assert not any(start == solo for _, start in spikes)
    assert report.suppressed["anomaly_hours"] >= 1  # the solo burst, left out and counted


def test_arms_are_install_counts_and_a_small_arm_stops_the_analysis(lake: Path, report: InsightsReport) -> None:
    direct = _parquet(lake, f"""
        SELECT variant, count(*) FROM (
            SELECT install_id, arg_min(json_extract_string(attributes, '$."experiment.variant"'), start_ns) AS variant
            FROM {{spans}} WHERE event_type = '{EXPOSURE_EVENT_TYPE}'
              AND json_extract_string(attributes, '$."experiment.name"') = 'onboarding'
            GROUP BY install_id
        ) GROUP BY variant""")  # fmt: skip
    onboarding = next(e for e in report.experiments.items if e.series == "onboarding")
    assert {v.variant: v.units for v in onboarding.variants} == dict(direct)
    assert dict(direct) == {arm: sum(arm_of(i) == arm for i in range(INSTALLS)) for arm in ("control", "checklist")}
    # Conversions counted per install after its first exposure (the early ones of every 4th install never count).
    converted = _parquet(lake, f"""
        WITH first AS (SELECT install_id, min(start_ns) AS t FROM {{spans}} WHERE event_type = '{EXPOSURE_EVENT_TYPE}'
                       AND json_extract_string(attributes, '$."experiment.name"') = 'onboarding' GROUP BY install_id)
        SELECT count(DISTINCT e.install_id) FROM {{spans}} e JOIN first f ON f.install_id = e.install_id
        WHERE e.event_type = 'tutorial_completed' AND e.start_ns >= f.t""")[0][0]  # fmt: skip
    goal = next(g for g in onboarding.goals if g.goal == "tutorial_completed")
    assert sum(v.conversions for v in goal.variants) == converted
    tiny = next(e for e in report.experiments.items if e.series == "tiny")
    assert tiny.variants == [] and tiny.goals == [] and not tiny.enough_units
    assert f"fewer than {K} installs" in tiny.message and len(TINY_ARM) < K
    assert report.suppressed["experiment_arms"] == 1


def test_small_groups_are_left_out_and_counted(lake: Path, report: InsightsReport) -> None:
    cells = _parquet(
        lake,
        f"""
        SELECT ((start_ns // 86400000000000) + 3) % 7, (start_ns // 3600000000000) % 24, count(*),
               count(DISTINCT install_id)
        FROM {{spans}} s WHERE category = 'event' AND event_type <> '{EXPOSURE_EVENT_TYPE}' GROUP BY ALL""",
    )
    shown = {(d, h): n for d, h, n, installs in cells if installs >= K}
    assert [c.count for c in report.heatmap.hour_of_week] == [shown.get((d, h), 0) for d in range(7) for h in range(24)]
    assert report.suppressed["heatmap_cells"] == sum(1 for *_, installs in cells if installs < K) >= 7
    assert all(c.count == 0 for c in report.heatmap.hour_of_week if c.hour == 3)  # only the night owls
    assert len(NIGHT_OWLS) < K
    # A feature of 2 installs, a version of 2 installs: in no breakdown, each counted.
    assert "secret_feature" not in report.heatmap.features
    assert "secret_feature" not in {c.feature for c in report.heatmap.feature_by_version}
    assert BETA not in report.heatmap.versions and report.suppressed["regression_versions"] == 1
    assert report.suppressed["trends"] >= 1 and report.suppressed["feature_by_version"] >= 1
    assert report.suppressed["anomaly_series"] >= 1
    assert report.min_installs == K


def test_with_k_1_every_group_shows(lake: Path) -> None:
    everything = fleet_insights(lake, min_installs=1)
    assert not any(everything.suppressed.values())
    assert BETA in everything.heatmap.versions and "secret_feature" in everything.heatmap.features
    tiny = next(e for e in everything.experiments.items if e.series == "tiny")
    assert {v.variant: v.units for v in tiny.variants} == {"a": 40 - len(TINY_ARM), "b": len(TINY_ARM)}


def test_a_fleet_smaller_than_k_shows_nothing(tmp_path: Path) -> None:
    small = fleet_insights(build_lake(tmp_path / "small", installs=K - 1), min_installs=K)
    assert small.suppressed.get("fleet") == 1
    assert small.experiments.items == [] and small.regressions.items == [] and small.trends.series_tested == 0
    assert sum(c.count for c in small.heatmap.hour_of_week) == 0 and small.heatmap.features == []


def test_duckdb_and_the_spark_cluster_give_the_same_report(
    lake: Path, report: InsightsReport, spark_cluster: SparkCluster
) -> None:
    done = subprocess.run(
        [*CLI, "insights", "--lake", str(lake), "--engine", "spark", "--spark-master", spark_cluster.master_url,
         "--min-installs", str(K), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=900, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **SMALL},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == json.loads(report.model_dump_json())


def test_the_cli_prints_the_fleet_report(
    lake: Path, report: InsightsReport, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["insights", "--home", str(tmp_path), "--lake", str(lake), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(report.model_dump_json())
    assert main(["insights", "--home", str(tmp_path), "--lake", str(lake), "--min-installs", "5"]) == 0
    text = capsys.readouterr().out
    assert "Experiment onboarding: 80 units" in text and "Left out (fewer than 5 installs):" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--min-installs", "0"], "--min-installs must be >= 1"),
        (["--engine", "spark"], "add --lake DIR"),
        (["--lake", "LAKE", "--spark-master", "spark://127.0.0.1:1"], "--spark-master needs --engine spark"),
        (["--lake", "MISSING"], "is not a folder"),
    ],
)
def test_bad_arguments_give_a_clear_error(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    if extra == ["--min-installs", "0"]:
        extra = ["--lake", str(lake), *extra]
    args = [str(lake) if a == "LAKE" else str(tmp_path / "nope") if a == "MISSING" else a for a in extra]
    assert main(["insights", "--home", str(tmp_path), *args]) == 1
    assert message in capsys.readouterr().err
    assert main(["insights", "--home", str(tmp_path), "--lake", str(lake), "--engine", "bogus"]) == 2
    with pytest.raises(ValueError, match="min_installs"):
        fleet_insights(lake, min_installs=0)
    with pytest.raises(ValueError, match="engine"):
        fleet_insights(lake, engine="bogus")


def test_the_time_range_applies_to_every_part(lake: Path) -> None:
    since, until = "2026-09-28T00:00:00Z", "2026-10-12T00:00:00Z"
    ranged = fleet_insights(lake, InsightsFilter(since=since, until=until), min_installs=1)
    low, high = InsightsFilter(since=since).since_ns, InsightsFilter(until=until).until_ns
    events = _parquet(
        lake,
        f"SELECT count(*) FROM {{spans}} s WHERE category = 'event' AND event_type <> '{EXPOSURE_EVENT_TYPE}' "
        f"AND start_ns >= {low} AND start_ns < {high}",
    )[0][0]
    assert sum(c.count for c in ranged.heatmap.hour_of_week) == events > 0
    assert set(ranged.heatmap.versions) == {"1.1.0", BETA, "1.2.0"}  # weeks 2 and 3 only
    # Only the installs whose second exposure fell on day 7 (i % 7 == 6) were exposed within the range.
    assert [(e.series, e.units) for e in ranged.experiments.items] == [
        ("onboarding", sum(i % 7 == 6 for i in range(INSTALLS)))
    ]
