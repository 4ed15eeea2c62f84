"""``Insights``: the whole insights report from one read connection, in one snapshot of the event log."""

from __future__ import annotations

import logging
import threading

import duckdb

from analytics.engine import AnalyticsError, Connect, _begin
from analytics.insights import anomalies, experiments, heatmap, regressions, trends
from analytics.insights._scope import open_scope
from analytics.insights.models import InsightsFilter, InsightsReport

_logger = logging.getLogger(__name__)


class Insights:
    """Trends, anomalies, regressions, heatmaps and experiments over the event log.

    >>> Insights(service.event_log.reader).report(InsightsFilter(since="2026-11-01")).anomalies.items

    ``connect`` is the same callable :class:`analytics.Analytics` takes (the event log's ``reader``). The
    report reads everything inside one transaction, so its parts agree while the exporter appends. DuckDB
    failures raise :class:`analytics.AnalyticsError` (naming the part, never the values), counted and
    logged once.
    """

    def __init__(self, connect: Connect) -> None:
        if not callable(connect):
            raise ValueError("connect must be a callable returning a context manager of a DuckDB connection")
        self._connect = connect
        self._lock = threading.Lock()
        self.failures = 0

    def report(self, f: InsightsFilter | None = None) -> InsightsReport:
        f = f or InsightsFilter()
        part = "range"
        with self._connect() as con:
            began = _begin(con)
            try:
                scope = open_scope(con, f)
                part = "trends"
                found_trends = trends.compute(scope)
                part = "anomalies"
                found_anomalies = anomalies.compute(scope)
                part = "regressions"
                found_regressions = regressions.compute(scope)
                part = "heatmap"
                found_heatmap = heatmap.compute(scope)
                part = "experiments"
                found_experiments = experiments.compute(scope)
            except duckdb.Error as exc:
                raise self._failed(f"insights.{part}", exc) from None
            finally:
                if began:
                    con.execute("ROLLBACK")
        return InsightsReport(
            trends=found_trends,
            anomalies=found_anomalies,
            regressions=found_regressions,
            heatmap=found_heatmap,
            experiments=found_experiments,
        )

    def _failed(self, query: str, exc: BaseException) -> AnalyticsError:
        with self._lock:
            self.failures += 1
            first = self.failures == 1
        if first:
            _logger.error("insights query %r failed (%s); further failures are counted", query, type(exc).__name__)
        return AnalyticsError(query, exc)
