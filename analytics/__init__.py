"""SQL analytics over the event log, answered as pydantic models.

>>> from analytics import Analytics, AnalyticsFilter
>>> Analytics(service.event_log.reader).report(AnalyticsFilter()).event_breakdown

Every value in a filter is a bound SQL parameter; table and column names come from ``exporters.eventlog.schema``.
"""

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
