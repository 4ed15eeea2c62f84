"""Insights test logs: real DuckDB files built with Arrow bulk inserts (see ``_insights_data``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _analytics_helpers import opener
from _insights_data import Plan, build, fleet_rows

from analytics.insights import Insights, InsightsReport

#: The planted fleet: load_model 35% slower from 1.2.0 (day 14), an OutOfMemoryError burst on Saturday
#: 2026-10-10 14:00 UTC (day 19), adapter_exported twice as frequent in the last week.
BURST_HOUR = 19 * 24 + 14


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> InsightsReport:
    plan = Plan(seed=7, slowdown=1.35, burst_hour=BURST_HOUR, rising="adapter_exported")
    path = build(tmp_path_factory.mktemp("planted") / "events.duckdb", fleet_rows(plan))
    return Insights(opener(path)).report()


def report_of(path: Path) -> InsightsReport:
    return Insights(opener(path)).report()
