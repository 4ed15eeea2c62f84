"""Analytics over a real event log: exact numbers, filters, bound parameters, reads during writes."""

import statistics
import threading
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

from analytics import Analytics, AnalyticsFilter
from exporters import schema
from exporters.eventlog import EventLog

NS = 1_000_000_000
T0 = 1_790_000_000 * NS


def span_rows(rows: list[dict[str, object]]) -> pa.Table:
    names = schema.column_names(schema.SPANS)
    columns = {name: [row.get(name) for row in rows] for name in names}
    types = {
        "start_ns": pa.int64(), "end_ns": pa.int64(), "duration_ms": pa.float64(), "metric_value": pa.float64(),
        "dropped_attributes": pa.int32(),
    }  # fmt: skip
    return pa.table({name: pa.array(columns[name], types.get(name, pa.string())) for name in names})


def row(i: int, category: str, event_type: str, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "name": event_type, "kind": "INTERNAL",
        "start_ns": T0 + i * NS, "end_ns": T0 + i * NS, "duration_ms": 0.0, "status_code": "UNSET",
        "category": category, "event_type": event_type, "session_id": "s1" if i < 50 else "s2",
        "attributes": "{}", "resource": '{"os.type": "linux", "service.version": "1.2.3"}',
    }  # fmt: skip
    base.update(extra)
    return base


@pytest.fixture
def log(tmp_path: Path) -> EventLog:
    log = EventLog(tmp_path / "events.duckdb")
    rows = []
    for i in range(60):
        rows.append(row(i, "event", "training_started" if i % 3 else "model_loaded"))
    for i in range(60, 70):
        rows.append(row(i, "performance", "performance", metric_name="step_time", metric_unit="ms",
                        metric_value=float(i - 60)))  # fmt: skip
    for i in range(70, 73):
        rows.append(row(i, "error", "error", error_type="torch.OutOfMemoryError", status_code="ERROR",
                        status_message="OutOfMemoryError: CUDA out of memory",
                        attributes='{"peft.error.category": "out_of_memory"}',
                        redactions='{"path.home": 2}'))  # fmt: skip
    for i, ms in zip(range(73, 77), (10.0, 20.0, 30.0, 400.0), strict=True):
        rows.append(row(i, "http", "POST /api/telemetry/events", kind="SERVER", duration_ms=ms,
                        attributes='{"http.route": "/api/telemetry/events", "http.request.method": "POST", '
                        f'"http.response.status_code": {500 if ms > 100 else 200}}}'))  # fmt: skip
    log.append(schema.SPANS, span_rows(rows))
    yield log
    log.close()


def test_totals_and_breakdown_are_exact(log: EventLog) -> None:
    report = Analytics(log.reader).report()
    assert report.totals.total_events == 60
    assert report.totals.errors == 3
    assert report.totals.performance_measurements == 10
    assert report.totals.event_types == 2
    assert report.totals.sessions == 2
    breakdown = {b.event_type: (b.count, b.percentage) for b in report.event_breakdown}
    assert breakdown == {"training_started": (40, 66.67), "model_loaded": (20, 33.33)}
    assert sum(b.percentage for b in report.event_breakdown) == pytest.approx(100, abs=0.02)


def test_performance_summary_matches_python(log: EventLog) -> None:
    [metric] = Analytics(log.reader).performance()
    values = [float(v) for v in range(10)]
    assert (metric.metric_name, metric.unit, metric.count) == ("step_time", "ms", 10)
    assert metric.avg == pytest.approx(statistics.mean(values))
    assert (metric.min, metric.max) == (0.0, 9.0)
    assert metric.p95 == pytest.approx(statistics.quantiles(values, n=20, method="inclusive")[-1])
    histogram = Analytics(log.reader).slowest_distribution(bins=5)
    assert [b.count for b in histogram.bins] == [2, 2, 2, 2, 2]


def test_errors_api_times_sessions_system_and_redactions(log: EventLog) -> None:
    report = Analytics(log.reader).report()
    [error] = report.errors_by_type
    assert (error.error_type, error.category, error.count) == ("torch.OutOfMemoryError", "out_of_memory", 3)
    [route] = report.api_response_times
    assert (route.route, route.method, route.count, route.errors) == ("/api/telemetry/events", "POST", 4, 1)
    assert route.avg_ms == pytest.approx(115.0)
    assert report.sessions.count == 2
    assert report.sessions.max_s == pytest.approx(49.0)  # s1: spans 0..49; s2: 50..76
    assert report.sessions.avg_s == pytest.approx((49.0 + 26.0) / 2)
    assert report.system_info.os_type == "linux" and report.system_info.app_version == "1.2.3"
    assert [(r.rule_id, r.count) for r in report.redactions] == [("path.home", 6)]
    assert sum(b.events for b in report.events_over_time.buckets) == 60


def test_time_range_and_event_type_filters(log: EventLog) -> None:
    analytics = Analytics(log.reader)
    ten = AnalyticsFilter(start_ns=T0, end_ns=T0 + 10 * NS)
    assert analytics.totals(ten).total_events == 10
    only = AnalyticsFilter(event_types=["model_loaded"])
    assert [b.event_type for b in analytics.event_breakdown(only)] == ["model_loaded"]
    assert analytics.totals(AnalyticsFilter(session_id="s2")).total_events == 10


@pytest.mark.parametrize(
    "attack",
    [
        "x' OR 1=1 --",
        "'; DROP TABLE spans; --",
        "model_loaded' OR 'a'='a",
        "\\' UNION SELECT * FROM spans --",
    ],
)
def test_injection_in_filters_is_just_a_value(log: EventLog, attack: str) -> None:
    analytics = Analytics(log.reader)
    harmless = analytics.report(AnalyticsFilter(event_types=["no-such-type"], session_id="no-such-session"))
    attacked = analytics.report(AnalyticsFilter(event_types=[attack], session_id=attack))
    assert attacked.model_dump(exclude={"filter"}) == harmless.model_dump(exclude={"filter"})
    assert analytics.totals().total_spans == 77  # nothing was dropped


def test_empty_log_gives_zeros_not_errors(tmp_path: Path) -> None:
    with EventLog(tmp_path / "empty.duckdb") as log:
        report = Analytics(log.reader).report()
    assert report.totals.total_events == 0
    assert (
        report.event_breakdown == [] and report.performance == [] and report.slowest_distribution.bins == []
    )
    assert report.system_info.os_type is None


def test_bad_filters_are_rejected() -> None:
    with pytest.raises(ValidationError):
        AnalyticsFilter(start_ns=10, end_ns=5)
    with pytest.raises(ValidationError):
        AnalyticsFilter(event_types=["x"] * 101)
    with pytest.raises(ValidationError):
        AnalyticsFilter(event_types=["x" * 201])


def test_reads_work_while_another_thread_writes(log: EventLog) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        i = 1_000
        while not stop.is_set():
            log.append(schema.SPANS, span_rows([row(i, "event", "model_loaded")]))
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = []
        for _ in range(20):
            try:
                seen.append(Analytics(log.reader).totals().total_events)
            except BaseException as exc:
                errors.append(exc)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert seen == sorted(seen) and seen[0] >= 60
