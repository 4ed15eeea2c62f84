"""Each dashboard question as one function over an open read connection: run the named SQL, shape the rows.

Kept apart from ``engine`` so the public class only deals with connections and failures, and so the
report can hand one answer to the next (totals to the time buckets, performance to the histogram)
instead of asking DuckDB twice.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb
import orjson

from analytics import queries, timebuckets
from analytics.models import (
    AnalyticsFilter,
    ConsentEntry,
    ErrorCount,
    EventCount,
    EventsOverTime,
    Histogram,
    HistogramBin,
    MetricSummary,
    RedactionCount,
    RouteTiming,
    SessionStats,
    SystemInfo,
    TimeBucket,
    Totals,
)

MAX_BINS: Final = 200
_UNFILTERED: Final = frozenset({"latest_resource", "consent_history"})
_SYSTEM_KEYS: Final = {
    "os_type": "os.type",
    "os_version": "os.version",
    "arch": "host.arch",
    "python_version": "process.runtime.version",
    "app_name": "service.name",
    "app_version": "service.version",
}
#: Seconds per unit, to compare "slowest" across metrics recorded in different time units (UCUM codes).
_TIME_UNITS_S: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


class Reader:
    """One connection and one filter; ``query`` remembers which statement ran last, for error messages."""

    def __init__(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> None:
        self.con = con
        self.filter = f
        self.query = ""
        self._params: dict[str, Any] = {
            "start_ns": f.start_ns,
            "end_ns": f.end_ns,
            "event_types": f.event_types,
            "session_id": f.session_id,
        }

    def rows(self, name: str, **extra: Any) -> list[tuple[Any, ...]]:
        self.query = name
        # DuckDB refuses named parameters a statement does not use, so unfiltered ones get only theirs.
        params = extra if name in _UNFILTERED else {**self._params, **extra}
        return self.con.execute(queries.ALL[name], params).fetchall()

    def statement(self, name: str, sql: str, **extra: Any) -> list[tuple[Any, ...]]:
        """Another statement over the same filter (it must use every filter parameter, as ``FILTER`` does);
        ``name`` is what an error reports. The fleet dashboard counts each group's installs this way."""
        self.query = name
        return self.con.execute(sql, {**self._params, **extra}).fetchall()


def counts(r: Reader, *, event_types: int, sessions: int) -> Totals:
    [(events, spans, errors, perf, first, last)] = r.rows("counts")
    return Totals(
        total_events=events, total_spans=spans, errors=errors, performance_measurements=perf,
        event_types=event_types, sessions=sessions, first_ns=first, last_ns=last,
    )  # fmt: skip


def totals(r: Reader) -> Totals:
    [(types,)] = r.rows("distinct_event_types")
    return counts(r, event_types=types, sessions=sessions(r).count)


def event_breakdown(r: Reader) -> tuple[list[EventCount], int]:
    """The top event types and how many distinct types there are in all."""
    rows = r.rows("event_breakdown")
    types = rows[0][3] if rows else 0
    return [EventCount(event_type=t, count=n, percentage=round(p, 2)) for t, n, p, _ in rows], types


def events_over_time(r: Reader, t: Totals, buckets: int) -> EventsOverTime:
    f = r.filter
    first = f.start_ns if f.start_ns is not None else t.first_ns
    last = f.end_ns - 1 if f.end_ns is not None else t.last_ns
    if first is None or last is None or t.total_spans == 0:
        return EventsOverTime(bucket_ns=timebuckets.WIDTHS_NS[0], buckets=[])
    p = timebuckets.plan(first, last, buckets)
    found = {i: (e, x) for i, e, x in r.rows("events_over_time", origin=p.origin_ns, bucket_ns=p.width_ns)}
    filled = [(i, *found.get(i, (0, 0))) for i in range(p.buckets)]
    return EventsOverTime(
        bucket_ns=p.width_ns,
        buckets=[TimeBucket(start_ns=p.origin_ns + i * p.width_ns, events=e, errors=x) for i, e, x in filled],
    )


def errors_by_type(r: Reader) -> list[ErrorCount]:
    return [
        ErrorCount(error_type=t, category=c, count=n, last_ns=last, example=ex)
        for t, c, n, last, ex in r.rows("errors_by_type")
    ]


def performance(r: Reader) -> list[MetricSummary]:
    return [
        MetricSummary(metric_name=name, unit=unit, count=n, avg=avg, min=lo, max=hi, p50=q[0], p95=q[1])
        for name, unit, n, avg, lo, hi, q in r.rows("performance")
    ]


def slowest(metrics: list[MetricSummary]) -> MetricSummary | None:
    """The metric with the highest p95; time units are compared in seconds and win over other units
    (a p95 of 2 GB is not "slower" than 3 s)."""
    timed = [m for m in metrics if m.unit in _TIME_UNITS_S]
    if timed:
        return max(timed, key=lambda m: m.p95 * _TIME_UNITS_S[m.unit or ""])
    return max(metrics, key=lambda m: m.p95, default=None)


def distribution(r: Reader, metric: MetricSummary | None, bins: int) -> Histogram:
    if not 1 <= bins <= MAX_BINS:
        raise ValueError(f"bins must be between 1 and {MAX_BINS}")
    if metric is None:
        return Histogram()
    low, high = metric.min, metric.max
    if high <= low:  # one value: one bin holds it
        return Histogram(metric_name=metric.metric_name, unit=metric.unit,
                         bins=[HistogramBin(lower=low, upper=high, count=metric.count)])  # fmt: skip
    width = (high - low) / bins
    found = dict(
        r.rows("metric_histogram", low=low, width=width, bins=bins, metric_name=metric.metric_name, unit=metric.unit)
    )
    edges = [low + i * width for i in range(bins)] + [high]
    return Histogram(
        metric_name=metric.metric_name,
        unit=metric.unit,
        bins=[HistogramBin(lower=edges[i], upper=edges[i + 1], count=int(found.get(i, 0))) for i in range(bins)],
    )


def api_response_times(r: Reader) -> list[RouteTiming]:
    return [
        RouteTiming(route=route, method=m, count=n, avg_ms=avg, p95_ms=p95, errors=e)
        for route, m, n, avg, p95, e in r.rows("api_response_times")
    ]


def sessions(r: Reader, current_session_id: str | None = None) -> SessionStats:
    [(count, avg, median, longest, current)] = r.rows("sessions", current_session_id=current_session_id)
    return SessionStats(
        count=count, avg_s=avg, median_s=median, max_s=longest,
        current_session_id=current_session_id, current_s=current,
    )  # fmt: skip


def system_info(r: Reader) -> SystemInfo:
    rows = r.rows("latest_resource")
    if not rows:
        return SystemInfo()
    try:
        resource = orjson.loads(rows[0][0])
    except orjson.JSONDecodeError:
        return SystemInfo()
    if not isinstance(resource, dict):
        return SystemInfo()
    return SystemInfo(**{field: _text(resource.get(key)) for field, key in _SYSTEM_KEYS.items()})


def redactions(r: Reader) -> list[RedactionCount]:
    return [RedactionCount(rule_id=k, count=int(n)) for k, n in r.rows("redactions")]


def consent_history(r: Reader) -> list[ConsentEntry]:
    return [
        ConsentEntry(time_ns=t, action=a, policy_version=p, anonymous_id=i, source=s)
        for t, a, p, i, s in r.rows("consent_history")
    ]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
