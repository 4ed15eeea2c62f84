"""Insights over the event log: trends, anomalies, performance regressions, usage heatmaps, A/B experiments.

>>> from analytics.insights import Insights, InsightsFilter
>>> Insights(service.event_log.reader).report(InsightsFilter()).regressions.items

Each insight is DuckDB SQL over the event log's schema plus a little statistics in Python, answered as the
pydantic models of :mod:`analytics.insights.models`.
"""

from analytics.insights.engine import Insights
from analytics.insights.models import InsightsFilter, InsightsReport

__all__ = ["Insights", "InsightsFilter", "InsightsReport"]
