"""Insights over the event log: trends, anomalies, performance regressions, usage heatmaps, A/B experiments.

>>> from analytics.insights import Insights, InsightsFilter
>>> Insights(service.event_log.reader).report(InsightsFilter()).regressions.items

Each insight is DuckDB SQL over the event log's schema plus a little statistics in Python, answered as the
pydantic models of :mod:`analytics.insights.models`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporters._lazy import lazy_exports

if TYPE_CHECKING:
    from analytics.insights.engine import Insights
    from analytics.insights.models import InsightsFilter, InsightsReport

# Imported on first use, not with the package (see exporters/_lazy.py for why).
_EXPORTS = {
    "Insights": "engine",
    "InsightsFilter": "models",
    "InsightsReport": "models",
}
__all__ = ["Insights", "InsightsFilter", "InsightsReport"]
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
