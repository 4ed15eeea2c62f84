"""SQL analytics over the event log, answered as pydantic models.

>>> from analytics import Analytics, AnalyticsFilter
>>> Analytics(service.event_log.reader).report(AnalyticsFilter()).event_breakdown

Every value in a filter is a bound SQL parameter; table and column names come from ``exporters.eventlog.schema``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.engine import Analytics, AnalyticsError, Connect
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

# Names load on first use (PEP 562), not when the package is imported. A package whose __init__ imports its
# own modules can deadlock Python 3.11's import locks when two threads import it and one of its modules at once
# (the pipeline built on the telemetry thread, the app importing ours); Python then hands one of them a
# partly initialized module and an ImportError. tests/test_architecture.py keeps package files import-free.
_EXPORTS = {
    "Analytics": "engine",
    "AnalyticsError": "engine",
    "Connect": "engine",
    "AnalyticsFilter": "models",
    "AnalyticsReport": "models",
    "ConsentEntry": "models",
    "ErrorCount": "models",
    "EventCount": "models",
    "EventsOverTime": "models",
    "Histogram": "models",
    "HistogramBin": "models",
    "MetricSummary": "models",
    "RedactionCount": "models",
    "RouteTiming": "models",
    "SessionStats": "models",
    "SystemInfo": "models",
    "TimeBucket": "models",
    "Totals": "models",
}
__all__ = [
    "Analytics",
    "AnalyticsError",
    "AnalyticsFilter",
    "AnalyticsReport",
    "Connect",
    "ConsentEntry",
    "ErrorCount",
    "EventCount",
    "EventsOverTime",
    "Histogram",
    "HistogramBin",
    "MetricSummary",
    "RedactionCount",
    "RouteTiming",
    "SessionStats",
    "SystemInfo",
    "TimeBucket",
    "Totals",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
