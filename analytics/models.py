"""The answers analytics give, as pydantic models (what the API returns and the dashboard draws)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_EVENT_TYPES = 100


class AnalyticsFilter(BaseModel):
    """Which spans a question is about. Every field is optional; all are bound as SQL parameters."""

    model_config = ConfigDict(extra="forbid")

    start_ns: int | None = Field(default=None, ge=0, le=2**63 - 1, description="Inclusive, ns since epoch.")
    end_ns: int | None = Field(default=None, ge=0, le=2**63 - 1, description="Exclusive, ns since epoch.")
    event_types: list[str] | None = Field(
        default=None, max_length=MAX_EVENT_TYPES, description="Only these event types (span names)."
    )
    session_id: str | None = Field(default=None, max_length=64, description="Only this session.")

    @model_validator(mode="after")
    def _ordered(self) -> AnalyticsFilter:
        if self.start_ns is not None and self.end_ns is not None and self.end_ns < self.start_ns:
            raise ValueError("end_ns must not be before start_ns")
        if self.event_types is not None and any(len(t) > 200 for t in self.event_types):
            raise ValueError("an event type is longer than 200 characters")
        return self


class Totals(BaseModel):
    total_events: int = 0
    total_spans: int = 0
    errors: int = 0
    performance_measurements: int = 0
    event_types: int = 0
    sessions: int = 0
    first_ns: int | None = None
    last_ns: int | None = None


class EventCount(BaseModel):
    event_type: str
    count: int
    percentage: float


class TimeBucket(BaseModel):
    start_ns: int
    events: int
    errors: int


class EventsOverTime(BaseModel):
    bucket_ns: int
    buckets: list[TimeBucket]


class ErrorCount(BaseModel):
    error_type: str
    category: str | None
    count: int
    last_ns: int
    example: str | None


class MetricSummary(BaseModel):
    metric_name: str
    unit: str | None
    count: int
    avg: float
    min: float
    max: float
    p50: float
    p95: float


class HistogramBin(BaseModel):
    lower: float
    upper: float
    count: int


class Histogram(BaseModel):
    metric_name: str | None = None
    unit: str | None = None
    bins: list[HistogramBin] = []


class RouteTiming(BaseModel):
    route: str
    method: str | None
    count: int
    avg_ms: float
    p95_ms: float
    errors: int


class SessionStats(BaseModel):
    count: int = 0
    avg_s: float = 0.0
    median_s: float = 0.0
    max_s: float = 0.0


class SystemInfo(BaseModel):
    os_type: str | None = None
    os_version: str | None = None
    arch: str | None = None
    python_version: str | None = None
    app_name: str | None = None
    app_version: str | None = None


class RedactionCount(BaseModel):
    rule_id: str
    count: int


class ConsentEntry(BaseModel):
    time_ns: int
    action: str
    policy_version: str | None
    anonymous_id: str | None
    source: str | None


class AnalyticsReport(BaseModel):
    """Everything the dashboard shows, from one read of the event log."""

    filter: AnalyticsFilter
    totals: Totals
    event_breakdown: list[EventCount]
    events_over_time: EventsOverTime
    errors_by_type: list[ErrorCount]
    performance: list[MetricSummary]
    slowest_distribution: Histogram
    api_response_times: list[RouteTiming]
    sessions: SessionStats
    system_info: SystemInfo
    redactions: list[RedactionCount]
    consent_history: list[ConsentEntry]
