"""The insights API: what ``POST /api/telemetry/insights``, ``peft-telemetry insights`` and the dashboard's
Insights view exchange, as pydantic models.

The answer (:class:`InsightsReport`) has exactly five top-level keys: ``trends``, ``anomalies``,
``regressions``, ``heatmap``, ``experiments`` (a fleet report adds ``min_installs`` and ``suppressed``).
Every item names its series (``series``: the event type,
error type, metric name, span name or ``"METHOD /route"``, with ``kind`` saying which). Times are integer
nanoseconds since the Unix epoch, UTC; hours and days of week are UTC too (see :class:`Heatmap`).

Field names are a contract with the dashboard: add fields, never rename them.

>>> InsightsFilter(since="2026-11-01T00:00:00Z")
>>> report.regressions.items[0].version   # the app version where the slowdown began
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_NS_MAX = 2**63 - 1

#: What a series is made of: ``event`` (track_event / span event_type), ``error`` (error type),
#: ``performance`` (track_performance metric), ``span`` (a plain OTel span name: its durations),
#: ``http`` (an HTTP route's server timings).
SeriesKind = Literal["event", "error", "performance", "span", "http"]
DAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class InsightsFilter(BaseModel):
    """Which part of the event log the insights look at. Every field is optional.

    >>> InsightsFilter(since="2026-11-01T00:00:00Z", goals=["training_finished"])

    ``since``/``until`` select spans by start time (``since <= t < until``; ISO 8601 text or a datetime;
    without a zone, UTC). Without ``since``, everything recorded; without ``until``, up to the newest span.
    ``goals`` are the event types whose conversion experiments report (default: the most frequent event
    types recorded after exposure); ``metrics`` the track_performance metric names whose mean they report
    (default: the most frequent ones). ``alpha`` is the significance level of every flag.
    """

    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(default=None, description="Inclusive start (ISO 8601; UTC if no zone).")
    until: datetime | None = Field(default=None, description="Exclusive end (ISO 8601; UTC if no zone).")
    goals: list[str] | None = Field(default=None, max_length=20, description="Experiment goal event types.")
    metrics: list[str] | None = Field(default=None, max_length=20, description="Experiment metric names.")
    alpha: float = Field(default=0.01, gt=0.0, le=0.2, description="Significance level of every flag.")

    @model_validator(mode="after")
    def _ordered(self) -> InsightsFilter:
        if self.since is not None and self.until is not None and self.until_ns <= self.since_ns:  # type: ignore[operator]
            raise ValueError("until must be after since")
        for name in (*(self.goals or ()), *(self.metrics or ())):
            if not name or len(name) > 200:
                raise ValueError("goal and metric names must be 1-200 characters")
            name.encode("utf-8")
        return self

    @property
    def since_ns(self) -> int | None:
        return _ns(self.since)

    @property
    def until_ns(self) -> int | None:
        return _ns(self.until)


def _ns(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, min(_NS_MAX, int(moment.timestamp() * 1_000_000) * 1000))


# -- trends ------------------------------------------------------------------------------------------


class Trend(BaseModel):
    """One event type's rate in the recent period against the earlier one (counts per day)."""

    series: str
    kind: SeriesKind = "event"
    earlier_count: int
    recent_count: int
    earlier_per_day: float
    recent_per_day: float
    rate_ratio: float | None  # recent / earlier rate; None when it was not used at all before (new)
    ratio_ci_low: float  # 95% interval of the rate ratio (Wilson interval of the conditional binomial share)
    ratio_ci_high: float | None  # None: unbounded (no use in the earlier period)
    change_pct: float | None  # (rate_ratio - 1) * 100; None when new
    p_value: float  # exact conditional test of equal Poisson rates (two-sided)
    significant: bool  # p_value < alpha, after a Bonferroni correction over the series tested


class Trends(BaseModel):
    """The recent period is the last ``recent_days`` before ``end_ns``; the earlier one everything before it
    back to ``start_ns``. Rates are per day so unequal periods compare."""

    start_ns: int | None = None
    split_ns: int | None = None
    end_ns: int | None = None
    recent_days: float = 0.0
    earlier_days: float = 0.0
    series_tested: int = 0
    rising: list[Trend] = []  # significant rises, new event types first, then largest rate ratio
    falling: list[Trend] = []  # significant falls, smallest rate ratio first
    method: str = ""


# -- anomalies ---------------------------------------------------------------------------------------


class Anomaly(BaseModel):
    """One hour in which a series' count left its own hour-of-week rhythm."""

    series: str
    kind: SeriesKind
    measure: Literal["events", "errors"]
    window_start_ns: int
    window_end_ns: int
    date: str  # the window's UTC date, YYYY-MM-DD
    day_of_week: str  # Mon..Sun, UTC
    hour: int  # 0..23, UTC
    observed: int
    expected: float  # the series' median count at this hour of the week
    score: float  # robust z: (observed - expected) / (1.4826 * MAD), with a Poisson floor on the spread
    p_value: float  # Poisson tail probability of observed given expected
    direction: Literal["spike", "drop"]


class Anomalies(BaseModel):
    series_examined: int = 0
    hours_examined: int = 0
    min_weeks: int = 2  # a series needs this many other weeks in the window before any of its hours is judged
    window_start_ns: int | None = None  # the hours judged: the last weeks of the range (at most 8), whole hours
    window_end_ns: int | None = None
    threshold: float = 0.0  # an hour is flagged when its p_value is below this (alpha, Bonferroni-corrected)
    items: list[Anomaly] = []
    method: str = ""


# -- regressions -------------------------------------------------------------------------------------


class Regression(BaseModel):
    """A series of durations (or a performance metric) that got slower, and where it began."""

    series: str
    kind: SeriesKind
    unit: str | None = "ms"
    change_ns: int  # the first sample after the change point
    version: str | None  # service.version of the first sample after the change point
    previous_version: str | None  # the version most samples before the change ran
    before_count: int
    after_count: int
    before_p50: float
    before_p95: float
    after_p50: float
    after_p95: float
    relative_change: float | None  # after_p50 / before_p50 - 1 (0.35 = 35% slower); None if before_p50 is 0
    p_value: float  # Mann-Whitney U (normal approximation, tie-corrected), one-sided "after is slower"


class Regressions(BaseModel):
    series_examined: int = 0
    min_samples: int = 0  # on each side of a change point
    min_relative_change: float = 0.0  # smaller shifts are not reported even when significant
    alpha: float = 0.0  # the per-series significance level actually applied
    items: list[Regression] = []
    method: str = ""


# -- heatmap -----------------------------------------------------------------------------------------


class HeatCell(BaseModel):
    day_of_week: int  # 0 = Monday .. 6 = Sunday (UTC)
    hour: int  # 0..23 (UTC)
    count: int


class FeatureVersionCell(BaseModel):
    feature: str  # the event type
    version: str  # service.version ("unknown" when the resource has none)
    count: int
    share: float  # of all events of that version, 0..1 (compares versions with unequal use)


class Heatmap(BaseModel):
    """Feature use by hour of day x day of week (UTC), and by feature x app version.

    Hours are UTC: the event log stores UTC only, and an install's local hour would tell its time zone,
    i.e. roughly where its user lives. A UTC heatmap of one install still shows when its user works.
    """

    timezone: Literal["UTC"] = "UTC"
    hour_of_week: list[HeatCell] = []  # all 168 cells, empty ones as zeros
    versions: list[str] = []  # in order of first appearance
    features: list[str] = []  # most used first (top 30)
    feature_by_version: list[FeatureVersionCell] = []


# -- experiments -------------------------------------------------------------------------------------


class VariantExposure(BaseModel):
    variant: str
    units: int  # installs whose first exposure chose this variant
    expected_share: float  # from the weights recorded with the exposure
    observed_share: float


class VariantRate(BaseModel):
    variant: str
    units: int
    conversions: int  # units with the goal event after their first exposure
    rate: float
    ci_low: float  # 95% Wilson interval
    ci_high: float
    lift: float | None  # rate / control rate - 1 (None for the control)
    diff: float | None  # rate - control rate
    diff_ci_low: float | None  # 95% normal interval of the difference
    diff_ci_high: float | None
    p_value: float | None  # two-proportion z-test against the control


class VariantMean(BaseModel):
    variant: str
    units: int  # units with at least one value after exposure (each unit contributes its own mean)
    mean: float
    ci_low: float | None  # 95% t interval (None with fewer than two units)
    ci_high: float | None
    diff: float | None
    diff_ci_low: float | None  # 95% Welch interval of the difference with the control
    diff_ci_high: float | None
    p_value: float | None  # Welch's t-test against the control


class GoalResult(BaseModel):
    goal: str  # the goal event type
    variants: list[VariantRate]


class MetricResult(BaseModel):
    metric: str  # the track_performance metric name
    unit: str | None
    variants: list[VariantMean]


class Experiment(BaseModel):
    """One experiment across every install (unit) in the log. The first variant is the control."""

    series: str  # the experiment's name
    units: int
    variants: list[VariantExposure]
    srm_p_value: float | None  # chi-square of the observed split against the weights
    srm_flagged: bool  # p < 0.01: the split is broken; do not read the results
    enough_units: bool
    message: str  # says in words what can and cannot be read
    goals: list[GoalResult] = []
    metrics: list[MetricResult] = []


class Experiments(BaseModel):
    min_units_per_variant: int = 0
    items: list[Experiment] = []
    method: str = ""


class InsightsReport(BaseModel):
    """Everything the Insights view shows, read in one snapshot of the event log.

    Over a fleet lake (:func:`analytics.fleet.insights.fleet_insights`) every group backed by fewer than
    ``min_installs`` installs is left out, and ``suppressed`` says how many were, by kind of group
    (``trends``, ``anomaly_series``, ``regression_series``, ``regression_versions``, ``heatmap_cells``,
    ``feature_by_version``, ``experiment_arms``, ``experiment_goals``, ``experiment_metrics``, and ``fleet``
    when the whole fleet has fewer installs). Over one install's log: ``min_installs`` is None.
    """

    trends: Trends
    anomalies: Anomalies
    regressions: Regressions
    heatmap: Heatmap
    experiments: Experiments
    # One install's report keeps the documented five keys: only a fleet report carries these two.
    min_installs: int | None = Field(default=None, exclude_if=lambda v: v is None)
    suppressed: dict[str, int] = Field(default_factory=dict, exclude_if=lambda v: not v)
