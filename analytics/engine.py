"""Analytics: questions about the event log, answered with bound-parameter SQL as pydantic models.

``Analytics`` is handed a ``connect`` callable that yields a read connection (the event log's
``reader``), so it works while the exporter writes and knows nothing about files or locks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import duckdb
import orjson

from analytics import queries
from analytics.models import (
    AnalyticsFilter,
    AnalyticsReport,
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

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

_MIN_BUCKET_NS = 1_000_000_000  # one second: finer buckets would be noise on a dashboard
_SYSTEM_KEYS = {
    "os_type": "os.type",
    "os_version": "os.version",
    "arch": "host.arch",
    "python_version": "process.runtime.version",
    "app_name": "service.name",
    "app_version": "service.version",
}


def _params(f: AnalyticsFilter) -> dict[str, Any]:
    return {
        "start_ns": f.start_ns,
        "end_ns": f.end_ns,
        "event_types": f.event_types,
        "session_id": f.session_id,
    }


class Analytics:
    """Every dashboard number, each a single DuckDB query over the spans table.

    >>> Analytics(service.event_log.reader).report(AnalyticsFilter()).totals.total_events
    """

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    # -- the whole report ----------------------------------------------------------------------------

    def report(
        self, f: AnalyticsFilter | None = None, *, buckets: int = 60, bins: int = 20
    ) -> AnalyticsReport:
        f = f or AnalyticsFilter()
        with self._connect() as con:
            totals = self._totals(con, f)
            performance = self._performance(con, f)
            return AnalyticsReport(
                filter=f,
                totals=totals,
                event_breakdown=self._event_breakdown(con, f),
                events_over_time=self._events_over_time(con, f, totals, buckets),
                errors_by_type=self._errors_by_type(con, f),
                performance=performance,
                slowest_distribution=self._slowest_distribution(con, f, performance, bins),
                api_response_times=self._api_response_times(con, f),
                sessions=self._sessions(con, f),
                system_info=self._system_info(con),
                redactions=self._redactions(con, f),
                consent_history=self._consent_history(con),
            )

    # -- single questions ----------------------------------------------------------------------------

    def totals(self, f: AnalyticsFilter | None = None) -> Totals:
        with self._connect() as con:
            return self._totals(con, f or AnalyticsFilter())

    def event_breakdown(self, f: AnalyticsFilter | None = None) -> list[EventCount]:
        with self._connect() as con:
            return self._event_breakdown(con, f or AnalyticsFilter())

    def events_over_time(self, f: AnalyticsFilter | None = None, buckets: int = 60) -> EventsOverTime:
        f = f or AnalyticsFilter()
        with self._connect() as con:
            return self._events_over_time(con, f, self._totals(con, f), buckets)

    def errors_by_type(self, f: AnalyticsFilter | None = None) -> list[ErrorCount]:
        with self._connect() as con:
            return self._errors_by_type(con, f or AnalyticsFilter())

    def performance(self, f: AnalyticsFilter | None = None) -> list[MetricSummary]:
        with self._connect() as con:
            return self._performance(con, f or AnalyticsFilter())

    def slowest_distribution(self, f: AnalyticsFilter | None = None, bins: int = 20) -> Histogram:
        f = f or AnalyticsFilter()
        with self._connect() as con:
            return self._slowest_distribution(con, f, self._performance(con, f), bins)

    def api_response_times(self, f: AnalyticsFilter | None = None) -> list[RouteTiming]:
        with self._connect() as con:
            return self._api_response_times(con, f or AnalyticsFilter())

    def sessions(self, f: AnalyticsFilter | None = None) -> SessionStats:
        with self._connect() as con:
            return self._sessions(con, f or AnalyticsFilter())

    def system_info(self) -> SystemInfo:
        with self._connect() as con:
            return self._system_info(con)

    def redactions(self, f: AnalyticsFilter | None = None) -> list[RedactionCount]:
        with self._connect() as con:
            return self._redactions(con, f or AnalyticsFilter())

    def consent_history(self) -> list[ConsentEntry]:
        with self._connect() as con:
            return self._consent_history(con)

    # -- the queries ---------------------------------------------------------------------------------

    @staticmethod
    def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return con.execute(sql, dict(params)).fetchall()

    def _totals(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> Totals:
        [row] = self._rows(con, queries.TOTALS, _params(f))
        events, spans, errors, perf, types, sessions, first, last = row
        return Totals(
            total_events=events, total_spans=spans, errors=errors, performance_measurements=perf,
            event_types=types, sessions=sessions, first_ns=first, last_ns=last,
        )  # fmt: skip

    def _event_breakdown(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> list[EventCount]:
        rows = self._rows(con, queries.EVENT_BREAKDOWN, _params(f))
        return [EventCount(event_type=t, count=n, percentage=round(p, 2)) for t, n, p in rows]

    def _events_over_time(
        self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter, totals: Totals, buckets: int
    ) -> EventsOverTime:
        start = f.start_ns if f.start_ns is not None else totals.first_ns
        end = f.end_ns if f.end_ns is not None else totals.last_ns
        if start is None or end is None:
            return EventsOverTime(bucket_ns=_MIN_BUCKET_NS, buckets=[])
        width = max(_MIN_BUCKET_NS, math.ceil((end - start + 1) / max(1, min(buckets, 1000))))
        rows = self._rows(con, queries.EVENTS_OVER_TIME, {**_params(f), "bucket_ns": width})
        return EventsOverTime(
            bucket_ns=width, buckets=[TimeBucket(start_ns=b, events=e, errors=x) for b, e, x in rows]
        )

    def _errors_by_type(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> list[ErrorCount]:
        rows = self._rows(con, queries.ERRORS_BY_TYPE, _params(f))
        return [
            ErrorCount(error_type=t, category=c, count=n, last_ns=last, example=ex)
            for t, c, n, last, ex in rows
        ]

    def _performance(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> list[MetricSummary]:
        rows = self._rows(con, queries.PERFORMANCE, _params(f))
        return [
            MetricSummary(metric_name=name, unit=unit, count=n, avg=avg, min=lo, max=hi, p50=p50, p95=p95)
            for name, unit, n, avg, lo, hi, p50, p95 in rows
        ]

    def _slowest_distribution(
        self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter, performance: list[MetricSummary], bins: int
    ) -> Histogram:
        if not performance:
            return Histogram()
        slowest = max(performance, key=lambda m: m.p95)
        bins = max(1, min(bins, 200))
        low, high = slowest.min, slowest.max
        width = (high - low) / bins if high > low else 1.0
        params = {**_params(f), "low": low, "width": width, "bins": bins,
                  "metric_name": slowest.metric_name, "unit": slowest.unit}  # fmt: skip
        counts = dict(self._rows(con, queries.METRIC_HISTOGRAM, params))
        return Histogram(
            metric_name=slowest.metric_name,
            unit=slowest.unit,
            bins=[
                HistogramBin(lower=low + i * width, upper=low + (i + 1) * width, count=int(counts.get(i, 0)))
                for i in range(bins)
            ],
        )

    def _api_response_times(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> list[RouteTiming]:
        rows = self._rows(con, queries.API_RESPONSE_TIMES, _params(f))
        return [
            RouteTiming(route=r, method=m, count=n, avg_ms=avg or 0.0, p95_ms=p95 or 0.0, errors=e)
            for r, m, n, avg, p95, e in rows
        ]

    def _sessions(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> SessionStats:
        [(count, avg, median, longest)] = self._rows(con, queries.SESSIONS, _params(f))
        return SessionStats(count=count, avg_s=avg, median_s=median, max_s=longest)

    def _system_info(self, con: duckdb.DuckDBPyConnection) -> SystemInfo:
        rows = self._rows(con, queries.LATEST_RESOURCE, {})
        if not rows:
            return SystemInfo()
        resource = orjson.loads(rows[0][0])
        return SystemInfo(**{field: _text(resource.get(key)) for field, key in _SYSTEM_KEYS.items()})

    def _redactions(self, con: duckdb.DuckDBPyConnection, f: AnalyticsFilter) -> list[RedactionCount]:
        rows = self._rows(con, queries.REDACTIONS, _params(f))
        return [RedactionCount(rule_id=k, count=int(n or 0)) for k, n in rows]

    def _consent_history(self, con: duckdb.DuckDBPyConnection) -> list[ConsentEntry]:
        rows = self._rows(con, queries.CONSENT_HISTORY, {})
        return [
            ConsentEntry(time_ns=t, action=a, policy_version=p, anonymous_id=i, source=s)
            for t, a, p, i, s in rows
        ]


def _text(value: object) -> str | None:
    return None if value is None else str(value)
