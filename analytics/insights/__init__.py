"""Insights over the event log: trends, anomalies, performance regressions, usage heatmaps, A/B experiments.

>>> from analytics.insights import Insights, InsightsFilter
>>> Insights(service.event_log.reader).report(InsightsFilter()).regressions.items

Each insight is DuckDB SQL over the event log's schema plus a little statistics in Python, answered as the
pydantic models of :mod:`analytics.insights.models`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.insights.engine import Insights
    from analytics.insights.models import InsightsFilter, InsightsReport

# Names load on first use (PEP 562), not when the package is imported. A package whose __init__ imports its
# own modules can deadlock Python 3.11's import locks when two threads import it and one of its modules at once
# (the pipeline built on the telemetry thread, the app importing ours); Python then hands one of them a
# partly initialized module and an ImportError. tests/test_architecture.py keeps package files import-free.
_EXPORTS = {
    "Insights": "engine",
    "InsightsFilter": "models",
    "InsightsReport": "models",
}
__all__ = ["Insights", "InsightsFilter", "InsightsReport"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
