"""SQL analytics over the event log, answered as pydantic models.

>>> from analytics import Analytics, AnalyticsFilter
>>> Analytics(service.event_log.reader).report(AnalyticsFilter()).event_breakdown

Every value in a filter is a bound SQL parameter; table and column names come from ``exporters.eventlog.schema``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporters._lazy import lazy_exports

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

# Imported on first use, not with the package (see exporters/_lazy.py for why).
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
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
