"""The answers analytics give, as pydantic models (what the API returns and the dashboard draws).

Field names are a contract with ``telemetry/web/static/model.js`` and the CLI reports: add fields, never
rename them. Empty answers are zeros, empty lists or ``None`` for "no such moment" (a first/last time),
never a missing field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_EVENT_TYPES = 100
MAX_EVENT_TYPE_CHARS = 200
MAX_SESSION_ID_CHARS = 64
_NS_MAX = 2**63 - 1  # BIGINT


def _encodable(text: str) -> str:
    # A lone surrogate passes pydantic but makes DuckDB's UTF-8 encoder fail at query time (a 500 on
    # the API): refuse it here, where it is a validation error like any other bad value.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return text


class AnalyticsFilter(BaseModel):
    """Which spans a question is about. Every field is optional; all are bound as SQL parameters.

    >>> AnalyticsFilter(start_ns=1_700_000_000 * 10**9, event_types=["training_started"])

    ``start_ns``/``end_ns`` select on a span's start time: ``start_ns <= t < end_ns``. ``event_types``
    keeps only spans whose ``event_type`` column is listed (an empty list matches nothing);
    ``session_id`` keeps one session.
    """

    model_config = ConfigDict(extra="forbid")

    start_ns: int | None = Field(default=None, ge=0, le=_NS_MAX, description="Inclusive, ns since epoch.")
    end_ns: int | None = Field(default=None, ge=0, le=_NS_MAX, description="Exclusive, ns since epoch.")
    event_types: list[str] | None = Field(
        default=None, max_length=MAX_EVENT_TYPES, description="Only these event types (span names)."
    )
    session_id: str | None = Field(default=None, max_length=MAX_SESSION_ID_CHARS, description="Only this session.")

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for item in value:
            if len(item) > MAX_EVENT_TYPE_CHARS:
                raise ValueError(f"an event type is longer than {MAX_EVENT_TYPE_CHARS} characters")
            _encodable(item)
        return value

    @field_validator("session_id")
    @classmethod
    def _session(cls, value: str | None) -> str | None:
        return None if value is None else _encodable(value)

    @model_validator(mode="after")
    def _ordered(self) -> AnalyticsFilter:
        if self.start_ns is not None and self.end_ns is not None and self.end_ns < self.start_ns:
            raise ValueError("end_ns must not be before start_ns")
        return self


class Totals(BaseModel):
    """Summary cards. ``total_events`` counts category ``event`` only; ``total_spans`` counts every row."""

    total_events: int = 0
    total_spans: int = 0
    errors: int = 0
    performance_measurements: int = 0
    event_types: int = 0  # distinct event types among events
    sessions: int = 0  # distinct session ids among all spans
    first_ns: int | None = None
    last_ns: int | None = None


class EventCount(BaseModel):
    event_type: str
    count: int
    percentage: float  # of the events in range, rounded to 0.01


class TimeBucket(BaseModel):
    start_ns: int
    events: int
    errors: int


class EventsOverTime(BaseModel):
    """Every bucket from the first to the last, empty ones included (zeros), each ``bucket_ns`` wide."""

    bucket_ns: int
    buckets: list[TimeBucket]


class ErrorCount(BaseModel):
    error_type: str
    category: str | None  # peft.error.category as recorded
    count: int
    last_ns: int
    example: str | None  # the newest status message (stored already anonymized)


class MetricSummary(BaseModel):
    metric_name: str
    unit: str | None
    count: int
    avg: float
    min: float
    max: float
    p50: float  # exact: quantile_cont over every value
    p95: float


class HistogramBin(BaseModel):
    lower: float
    upper: float
    count: int


class Histogram(BaseModel):
    """Equal-width bins from min to max of one metric; empty when there is no measurement."""

    metric_name: str | None = None
    unit: str | None = None
    bins: list[HistogramBin] = []


class RouteTiming(BaseModel):
    route: str
    method: str | None
    count: int
    avg_ms: float
    p95_ms: float
    errors: int  # status ERROR or an HTTP status >= 500


class SessionStats(BaseModel):
    """Session length = first span's start to last span's end, per session id, in seconds."""

    count: int = 0
    avg_s: float = 0.0
    median_s: float = 0.0
    max_s: float = 0.0
    current_session_id: str | None = None
    current_s: float | None = None  # the current session's length so far, when it was asked for


class SystemInfo(BaseModel):
    """Resource attributes of the newest span (OS, runtime, app), never identifiers."""

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
    """Everything the dashboard shows, from one read connection."""

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
