"""Every number of the report against the same number computed in Python from the inserted rows."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from statistics import mean, median

import pytest
from _analytics_helpers import CONSENT, NS, T0, Connect, Row

from analytics import Analytics, AnalyticsFilter, AnalyticsReport


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks: the definition of DuckDB's quantile_cont."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@pytest.fixture
def report(connect: Connect) -> AnalyticsReport:
    return Analytics(connect).report(current_session_id="s2")


def test_totals(report: AnalyticsReport, rows: list[Row]) -> None:
    t = report.totals
    cats = Counter(r["category"] for r in rows)
    assert (t.total_events, t.errors, t.performance_measurements) == (cats["event"], cats["error"], cats["performance"])
    assert t.total_spans == len(rows)
    assert t.event_types == len({r["event_type"] for r in rows if r["category"] == "event"}) == 5
    assert t.sessions == len({r["session_id"] for r in rows if r["session_id"]}) == 3
    assert (t.first_ns, t.last_ns) == (min(r["start_ns"] for r in rows), max(r["start_ns"] for r in rows))


def test_totals_alone_equal_the_report(connect: Connect, report: AnalyticsReport) -> None:
    assert Analytics(connect).totals() == report.totals


def test_breakdown_counts_and_percentages(report: AnalyticsReport, rows: list[Row]) -> None:
    counts = Counter(r["event_type"] for r in rows if r["category"] == "event")
    total = sum(counts.values())
    got = [(b.event_type, b.count, b.percentage) for b in report.event_breakdown]
    want = [(t, n, round(100 * n / total, 2)) for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    assert got == want
    assert sum(b.percentage for b in report.event_breakdown) == pytest.approx(100, abs=0.05)


def test_performance_per_metric(report: AnalyticsReport, rows: list[Row]) -> None:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["category"] == "performance" and math.isfinite(r["metric_value"]):  # NaN is left out
            values[(r["metric_name"], r["metric_unit"])].append(r["metric_value"])
    assert [(m.metric_name, m.unit) for m in report.performance] == sorted(values)
    for m in report.performance:
        v = values[(m.metric_name, m.unit)]
        assert m.count == len(v)
        assert (m.min, m.max) == (min(v), max(v))
        assert m.avg == pytest.approx(mean(v), rel=1e-12)
        assert m.p50 == pytest.approx(quantile(v, 0.5), rel=1e-12)
        assert m.p95 == pytest.approx(quantile(v, 0.95), rel=1e-12)
        assert m.p50 == pytest.approx(median(v), rel=1e-12)


def test_slowest_distribution_is_the_slowest_time_metric(report: AnalyticsReport, rows: list[Row]) -> None:
    # step_time (ms) has a larger p95 number than load_time (s) and bytes dwarf both: compared in
    # seconds, load_time is the slowest.
    by_name = {m.metric_name: m for m in report.performance}
    assert by_name["step_time"].p95 > by_name["load_time"].p95
    h = report.slowest_distribution
    assert (h.metric_name, h.unit, len(h.bins)) == ("load_time", "s", 20)
    v = [r["metric_value"] for r in rows if r.get("metric_name") == "load_time"]
    lo, hi = min(v), max(v)
    width = (hi - lo) / 20
    want = Counter(min(int((x - lo) / width), 19) for x in v)
    assert [b.count for b in h.bins] == [want.get(i, 0) for i in range(20)]
    assert (h.bins[0].lower, h.bins[-1].upper) == (lo, hi)
    assert all(a.upper == pytest.approx(b.lower) for a, b in zip(h.bins, h.bins[1:], strict=False))


def test_histogram_with_one_value_is_one_bin(connect: Connect) -> None:
    h = Analytics(connect).slowest_distribution(AnalyticsFilter(start_ns=T0 + 78 * NS, end_ns=T0 + 79 * NS))
    assert len(h.bins) == 1 and h.bins[0].count == 1 and h.bins[0].lower == h.bins[0].upper


def test_errors_by_type_and_category(report: AnalyticsReport, rows: list[Row]) -> None:
    errors = [r for r in rows if r["category"] == "error"]
    got = {(e.error_type, e.category): (e.count, e.last_ns, e.example) for e in report.errors_by_type}
    assert got == {
        ("ValueError", "config"): (2, errors[1]["start_ns"], "ValueError: bad rank 3"),  # newest message
        ("ValueError", "data"): (1, errors[2]["start_ns"], "ValueError: empty dataset"),
        ("torch.OutOfMemoryError", "out_of_memory"): (1, errors[3]["start_ns"], "OutOfMemoryError: CUDA out of memory"),
        ("KeyError", None): (1, errors[4]["start_ns"], "KeyError: 'lora_alpha'"),
        ("unknown", None): (1, errors[5]["start_ns"], None),
    }
    assert report.errors_by_type[0].error_type == "ValueError" and report.errors_by_type[0].count == 2
    assert sum(e.count for e in report.errors_by_type) == report.totals.errors


def test_api_response_times_per_route_and_method(report: AnalyticsReport) -> None:
    got = {(a.route, a.method): a for a in report.api_response_times}
    assert set(got) == {
        ("/api/telemetry/events", "POST"), ("/api/telemetry/events", "GET"), ("/api/telemetry/analytics", "POST"),
    }  # fmt: skip
    post = got[("/api/telemetry/events", "POST")]
    durations = [12.0, 18.5, 7.25, 250.0]
    assert (post.count, post.errors) == (4, 1)
    assert post.avg_ms == pytest.approx(mean(durations))
    assert post.p95_ms == pytest.approx(quantile(durations, 0.95))
    analytics = got[("/api/telemetry/analytics", "POST")]
    assert (analytics.count, analytics.errors) == (2, 1)  # legacy http.status_code 503 counts as an error
    assert report.api_response_times[0].route == "/api/telemetry/events"  # busiest first


def test_sessions(report: AnalyticsReport, rows: list[Row]) -> None:
    spans: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r["session_id"]:
            spans[r["session_id"]].append(r)
    lengths = {s: (max(r["end_ns"] for r in v) - min(r["start_ns"] for r in v)) / 1e9 for s, v in spans.items()}
    s = report.sessions
    assert s.count == 3
    assert s.avg_s == pytest.approx(mean(lengths.values()))
    assert s.median_s == pytest.approx(median(lengths.values()))
    assert s.max_s == pytest.approx(max(lengths.values()))
    assert (s.current_session_id, s.current_s) == ("s2", pytest.approx(lengths["s2"]))


def test_current_session_absent_or_not_asked(connect: Connect) -> None:
    analytics = Analytics(connect)
    assert analytics.sessions().current_s is None
    assert analytics.sessions(current_session_id="nope").current_s is None


def test_system_info_from_the_newest_span(report: AnalyticsReport) -> None:
    si = report.system_info
    assert (si.os_type, si.os_version, si.arch) == ("darwin", "24.1", "arm64")
    assert (si.python_version, si.app_name, si.app_version) == ("3.11.9", "peft-studio", "2.3.4")


def test_redactions_are_summed_per_rule(report: AnalyticsReport) -> None:
    assert [(r.rule_id, r.count) for r in report.redactions] == [("email", 5), ("api_key", 4), ("path.home", 4)]


def test_consent_history_newest_first(report: AnalyticsReport) -> None:
    got = [(c.time_ns, c.action, c.policy_version, c.anonymous_id, c.source) for c in report.consent_history]
    assert got == [tuple(c.values()) for c in sorted(CONSENT, key=lambda c: -c["time_ns"])]


def test_events_over_time_buckets_are_round_complete_and_add_up(report: AnalyticsReport, rows: list[Row]) -> None:
    over = report.events_over_time
    first, last = report.totals.first_ns, report.totals.last_ns
    assert first is not None and last is not None
    assert over.bucket_ns == 5 * NS  # 155 s of data in at most 60 buckets: 2 s would need 78
    assert over.buckets[0].start_ns <= first < over.buckets[0].start_ns + over.bucket_ns
    assert over.buckets[-1].start_ns <= last < over.buckets[-1].start_ns + over.bucket_ns
    starts = [b.start_ns for b in over.buckets]
    assert starts == list(range(starts[0], starts[-1] + 1, over.bucket_ns))  # empty buckets are there too
    assert sum(b.events for b in over.buckets) == report.totals.total_events
    assert sum(b.errors for b in over.buckets) == report.totals.errors
    want = Counter((r["start_ns"] - starts[0]) // over.bucket_ns for r in rows if r["category"] == "event")
    assert [b.events for b in over.buckets] == [want.get(i, 0) for i in range(len(starts))]


def test_events_over_time_covers_the_asked_range(connect: Connect) -> None:
    hour = 3600 * NS
    start = (T0 // hour) * hour  # aligned: two hours fill exactly 24 five-minute buckets
    over = Analytics(connect).events_over_time(AnalyticsFilter(start_ns=start, end_ns=start + 2 * hour), buckets=24)
    assert over.bucket_ns == 5 * 60 * NS
    assert len(over.buckets) == 24 and over.buckets[0].start_ns == start
    # Not aligned: the epoch-aligned buckets would need 25 of 5 min, so the width steps up to 10 min.
    shifted = AnalyticsFilter(start_ns=start + 60 * NS, end_ns=start + 2 * hour + 60 * NS)
    over = Analytics(connect).events_over_time(shifted, buckets=24)
    assert over.bucket_ns == 10 * 60 * NS and len(over.buckets) == 13
