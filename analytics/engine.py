"""Analytics: questions about the event log, answered with bound-parameter SQL as pydantic models.

``Analytics`` is handed a ``connect`` callable that yields a read connection (the event log's ``reader``,
a cursor of its own per call), so it works while the exporter writes and knows nothing about files or
locks. It holds no connection and no state besides a failure count, so one instance may serve many
threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import duckdb

from analytics import _compute as compute
from analytics.models import (
    AnalyticsFilter,
    AnalyticsReport,
    ConsentEntry,
    ErrorCount,
    EventCount,
    EventsOverTime,
    Histogram,
    MetricSummary,
    RedactionCount,
    RouteTiming,
    SessionStats,
    SystemInfo,
    Totals,
)
from exporters._failure_log import FailureLog
from exporters.eventlog import EventLogError

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]

_logger = logging.getLogger(__name__)


class AnalyticsError(EventLogError):
    """DuckDB could not answer a question (damaged file, missing tables...).

    An ``EventLogError``, so callers that already turn a busy or broken event log into a 503 or a CLI
    message handle this the same way.

    Carries the query's name, never its parameters or DuckDB's message: both can quote the values
    being filtered on, and those are the user's data.
    """

    def __init__(self, query: str, cause: BaseException) -> None:
        super().__init__(f"analytics query {query!r} failed ({type(cause).__name__})")
        self.query = query


class Analytics:
    """Every dashboard number, each one DuckDB query over the event log.

    >>> an = Analytics(service.event_log.reader)
    >>> an.report(AnalyticsFilter(event_types=["training_started"])).totals.total_events

    Each public method opens one connection through ``connect`` for its duration; ``report`` reads
    everything through a single one, inside one transaction, so its numbers agree with each other
    (totals = sum of the breakdown = sum of the time buckets) even while the exporter appends.
    Failures raise :class:`AnalyticsError` (the caller, a request handler or the CLI, decides what to
    show); they are counted in ``failures`` and logged once.
    """

    def __init__(self, connect: Connect) -> None:
        if not callable(connect):
            raise ValueError("connect must be a callable returning a context manager of a DuckDB connection")
        self._connect = connect
        self._failures = FailureLog(_logger)

    @property
    def failures(self) -> int:
        """Queries that failed so far (the first is logged)."""
        return self._failures.total

    # -- the whole report ------------------------------------------------------------------------

    def report(
        self,
        f: AnalyticsFilter | None = None,
        *,
        buckets: int = 60,
        bins: int = 20,
        current_session_id: str | None = None,
    ) -> AnalyticsReport:
        """Everything the dashboard draws, each number asked of DuckDB once."""
        with self._reading(f, snapshot=True) as r:
            breakdown, types = compute.event_breakdown(r)
            sessions = compute.sessions(r, current_session_id)
            totals = compute.counts(r, event_types=types, sessions=sessions.count)
            performance = compute.performance(r)
            return AnalyticsReport(
                filter=r.filter,
                totals=totals,
                event_breakdown=breakdown,
                events_over_time=compute.events_over_time(r, totals, buckets),
                errors_by_type=compute.errors_by_type(r),
                performance=performance,
                slowest_distribution=compute.distribution(r, compute.slowest(performance), bins),
                api_response_times=compute.api_response_times(r),
                sessions=sessions,
                system_info=compute.system_info(r),
                redactions=compute.redactions(r),
                consent_history=compute.consent_history(r),
            )

    # -- single questions ------------------------------------------------------------------------

    def totals(self, f: AnalyticsFilter | None = None) -> Totals:
        """Events, spans, errors, measurements, distinct event types and sessions, first/last start."""
        with self._reading(f) as r:
            return compute.totals(r)

    def event_breakdown(self, f: AnalyticsFilter | None = None) -> list[EventCount]:
        """Events per type, most frequent first, with their share of all events in range (top 200)."""
        with self._reading(f) as r:
            return compute.event_breakdown(r)[0]

    def events_over_time(self, f: AnalyticsFilter | None = None, buckets: int = 60) -> EventsOverTime:
        """Events and errors per time bucket; the width is a round duration fitting at most ``buckets``."""
        with self._reading(f) as r:
            return compute.events_over_time(r, compute.counts(r, event_types=0, sessions=0), buckets)

    def errors_by_type(self, f: AnalyticsFilter | None = None) -> list[ErrorCount]:
        """Errors per (type, category), most frequent first, with the newest (anonymized) message."""
        with self._reading(f) as r:
            return compute.errors_by_type(r)

    def performance(self, f: AnalyticsFilter | None = None) -> list[MetricSummary]:
        """Per metric name and unit: count, avg, min, max, exact p50 and p95."""
        with self._reading(f) as r:
            return compute.performance(r)

    def slowest_distribution(self, f: AnalyticsFilter | None = None, bins: int = 20) -> Histogram:
        """Equal-width histogram of the metric with the highest p95 (time units compared in seconds)."""
        with self._reading(f) as r:
            return compute.distribution(r, compute.slowest(compute.performance(r)), bins)

    def api_response_times(self, f: AnalyticsFilter | None = None) -> list[RouteTiming]:
        """Per HTTP route and method of the service's own handlers: count, avg/p95 ms, server errors."""
        with self._reading(f) as r:
            return compute.api_response_times(r)

    def sessions(self, f: AnalyticsFilter | None = None, current_session_id: str | None = None) -> SessionStats:
        """Session count and lengths; with ``current_session_id``, that session's length so far too."""
        with self._reading(f) as r:
            return compute.sessions(r, current_session_id)

    def system_info(self) -> SystemInfo:
        """OS, architecture, Python and app version from the newest span's resource."""
        with self._reading(None) as r:
            return compute.system_info(r)

    def redactions(self, f: AnalyticsFilter | None = None) -> list[RedactionCount]:
        """What the anonymizer removed, per rule, summed over the spans in range."""
        with self._reading(f) as r:
            return compute.redactions(r)

    def consent_history(self) -> list[ConsentEntry]:
        """The consent ledger, newest first (at most 200 entries)."""
        with self._reading(None) as r:
            return compute.consent_history(r)

    # -- plumbing --------------------------------------------------------------------------------

    @contextmanager
    def _reading(self, f: AnalyticsFilter | None, *, snapshot: bool = False) -> Iterator[compute.Reader]:
        # Errors of ``connect`` itself (the event log's own EventLogError: busy, closed) pass through
        # untouched; only what DuckDB raises while answering becomes an AnalyticsError.
        with self._connect() as con:
            r = compute.Reader(con, f or AnalyticsFilter())
            try:
                began = snapshot and _begin(con)
                try:
                    yield r
                finally:
                    if began:
                        con.execute("ROLLBACK")  # read only: nothing to keep
            except duckdb.Error as exc:
                raise self._failed(r.query or "begin", exc) from None

    def _failed(self, query: str, exc: BaseException) -> AnalyticsError:
        # The type only: DuckDB's message can quote filtered values.
        self._failures.record(
            "query", "analytics query %r failed (%s); further failures are counted", query, type(exc).__name__
        )
        return AnalyticsError(query, exc)


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Start a read transaction (one snapshot for every query); False if the caller already holds one."""
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:
        return False
    return True
