"""SQL analytics over the event log, answered as pydantic models.

>>> from analytics import Analytics, AnalyticsFilter
>>> Analytics(service.event_log.reader).report(AnalyticsFilter()).event_breakdown
"""

from analytics.engine import Analytics
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

__all__ = [
    "Analytics",
    "AnalyticsFilter",
    "AnalyticsReport",
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
