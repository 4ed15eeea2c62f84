"""Filters: each one gives exactly what the same report gives over a log holding only the matching rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from _analytics_helpers import NS, T0, Connect, Row, create_log, insert, opener
from pydantic import ValidationError

from analytics import Analytics, AnalyticsFilter
from exporters.eventlog import schema


def matches(row: Row, f: AnalyticsFilter) -> bool:
    """The filter's meaning, written in Python: start_ns in [start, end), listed event type, session."""
    t = row["start_ns"]
    return (
        (f.start_ns is None or t >= f.start_ns)
        and (f.end_ns is None or t < f.end_ns)
        and (f.event_types is None or row["event_type"] in f.event_types)
        and (f.session_id is None or row["session_id"] == f.session_id)
    )


FILTERS = [
    AnalyticsFilter(start_ns=T0 + 10 * NS, end_ns=T0 + 100 * NS),
    AnalyticsFilter(start_ns=T0 + 100 * NS),
    AnalyticsFilter(end_ns=T0 + 40 * NS),
    AnalyticsFilter(start_ns=T0 + 5 * NS, end_ns=T0 + 5 * NS),  # empty range
    AnalyticsFilter(event_types=["training_started", "o'brien"]),
    AnalyticsFilter(event_types=["performance", "error", "POST /api/telemetry/events"]),
    AnalyticsFilter(event_types=[]),  # an empty selection matches nothing
    AnalyticsFilter(session_id="s2"),
    AnalyticsFilter(session_id="s3", event_types=["model_loaded"], start_ns=T0 + 20 * NS, end_ns=T0 + 140 * NS),
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.model_dump_json(exclude_none=True))
def test_filter_equals_a_log_of_only_matching_rows(
    f: AnalyticsFilter, connect: Connect, rows: list[Row], tmp_path: Path
) -> None:
    only = tmp_path / "only.duckdb"
    create_log(only)
    kept = [r for r in rows if matches(r, f)]
    with duckdb.connect(str(only)) as con:
        if kept:
            insert(con, schema.SPANS, kept)
    filtered = Analytics(connect).report(f).model_dump(exclude={"filter", "system_info", "consent_history"})
    # The same range makes the same buckets; without one both derive it from the rows that match.
    reference = Analytics(opener(only)).report(f).model_dump(exclude={"filter", "system_info", "consent_history"})
    assert filtered == reference
    assert filtered["totals"]["total_spans"] == len(kept)


def test_start_is_inclusive_and_end_exclusive(connect: Connect) -> None:
    analytics = Analytics(connect)
    assert analytics.totals(AnalyticsFilter(start_ns=T0 + 10 * NS, end_ns=T0 + 20 * NS)).total_spans == 10
    assert analytics.totals(AnalyticsFilter(start_ns=T0 + 10 * NS, end_ns=T0 + 10 * NS + 1)).total_spans == 1


def test_time_range_reaches_every_section(connect: Connect) -> None:
    # Errors, HTTP spans and performance rows lie after the events: a range over the events only
    # empties those sections, so none of them ignores the range.
    report = Analytics(connect).report(AnalyticsFilter(end_ns=T0 + 77 * NS))
    assert report.totals.total_events == 77 and report.totals.errors == 0
    assert report.performance == [] and report.errors_by_type == [] and report.api_response_times == []
    assert report.slowest_distribution.bins == []
    assert report.consent_history != [] and report.system_info.os_type == "darwin"  # not range-bound


@pytest.mark.parametrize(
    "bad",
    [
        {"start_ns": 10, "end_ns": 5},
        {"start_ns": -1},
        {"end_ns": 2**63},
        {"start_ns": "0 OR 1=1"},
        {"event_types": ["x"] * 101},
        {"event_types": ["x" * 201]},
        {"event_types": "training_started"},  # a string is not a list of them
        {"event_types": ["\ud800"]},  # a lone surrogate: DuckDB could not encode it
        {"session_id": "s" * 65},
        {"session_id": "\udfff"},
        {"order_by": "1; DROP TABLE spans"},
    ],
)
def test_bad_filters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AnalyticsFilter(**bad)


def test_limits_are_inclusive() -> None:
    AnalyticsFilter(event_types=["x" * 200] * 100, session_id="s" * 64, start_ns=5, end_ns=5)


@pytest.mark.parametrize("buckets", [0, -1, 1001])
def test_bucket_count_out_of_range_is_a_value_error(connect: Connect, buckets: int) -> None:
    with pytest.raises(ValueError, match="buckets"):
        Analytics(connect).events_over_time(buckets=buckets)


@pytest.mark.parametrize("bins", [0, 201])
def test_bin_count_out_of_range_is_a_value_error(connect: Connect, bins: int) -> None:
    with pytest.raises(ValueError, match="bins"):
        Analytics(connect).slowest_distribution(bins=bins)
