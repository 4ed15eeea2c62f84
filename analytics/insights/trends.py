"""Trends: per event type, its rate in the recent period against the earlier one, with a test for rates.

The recent period is the last 7 days of the range (the last half when the range is under two weeks);
the earlier one the whole weeks just before it (so both hold every weekday equally often and the weekly
rhythm cancels out). Counts are Poisson-like: given the total n = recent + earlier, equal rates mean
recent ~ Binomial(n, T_recent / (T_recent + T_earlier)), an exact test. Real use is burstier than Poisson
(one user's busy day), so both counts are first divided by the series' dispersion: the variance / mean of
its daily counts in the earlier period (at least 1). A change is significant when p < alpha / series
tested (Bonferroni). The rate ratio's 95% interval comes from the Wilson interval of that binomial share.
"""

from __future__ import annotations

from typing import Final

from analytics.insights import _stats
from analytics.insights._scope import DAY_NS, EXPOSURE_EVENT, RANGE, WEEK_NS, Scope
from analytics.insights.models import Trend, Trends
from exporters.eventlog.schema import SPANS

_TOP: Final = 10
_EDGE_NS: Final = 6 * 3_600 * 10**9

DAILY: Final = f"""
SELECT coalesce(event_type, '') AS series, (start_ns - $first) // {DAY_NS} AS day, count(*)
FROM {SPANS} WHERE category = 'event' AND event_type IS DISTINCT FROM '{EXPOSURE_EVENT}' AND {RANGE}
    AND start_ns >= $first
GROUP BY ALL
"""

METHOD: Final = (
    "Recent = last 7 days (last half of a range under 2 weeks), earlier = the whole weeks before; exact "
    "conditional binomial test of equal Poisson rates on dispersion-scaled counts, Bonferroni over event types."
)


def _periods(first_ns: int, end_ns: int) -> tuple[int, int] | None:
    """(start of the earlier period, split) or None when the range is too short to compare."""
    span = end_ns - first_ns
    if span < 2 * DAY_NS:
        return None
    if span < 2 * WEEK_NS:
        return first_ns, end_ns - span // 2
    split = end_ns - WEEK_NS
    if split - first_ns + _EDGE_NS < WEEK_NS:
        return None
    # A log that starts a few hours into its first week (the first event of a quiet night) still counts
    # that week: the missing hours bias the earlier rate by well under 2%.
    weeks = (split - first_ns + _EDGE_NS) // WEEK_NS
    return split - weeks * WEEK_NS, split


def compute(scope: Scope) -> Trends:
    out = Trends(method=METHOD)
    if scope.first_ns is None or scope.end_ns is None:
        return out
    periods = _periods(scope.first_ns, scope.end_ns)
    if periods is None:
        return out
    start, split = periods
    end = scope.end_ns
    out.start_ns, out.split_ns, out.end_ns = start, split, end
    t_recent, t_earlier = (end - split) / DAY_NS, (split - start) / DAY_NS
    out.recent_days, out.earlier_days = round(t_recent, 3), round(t_earlier, 3)
    split_day = (split - start) // DAY_NS
    daily: dict[str, dict[int, int]] = {}
    for series, day, n in scope.rows(DAILY, first=start):
        daily.setdefault(series, {})[day] = n
    out.series_tested = len(daily)
    if not daily:
        return out
    share = t_recent / (t_recent + t_earlier)
    bound = scope.alpha / len(daily)
    trends = []
    for series, by_day in daily.items():
        earlier = sum(n for d, n in by_day.items() if d < split_day)
        recent = sum(n for d, n in by_day.items() if d >= split_day)
        phi = _dispersion([by_day.get(d, 0) for d in range(split_day)])
        a, n = round(recent / phi), round((recent + earlier) / phi)
        p = _stats.binom_two_sided(a, n, share) if n > 0 else 1.0
        low, high = _stats.wilson(a, n)
        ratio = _ratio(recent / t_recent, earlier / t_earlier)
        trends.append(
            Trend(
                series=series, earlier_count=earlier, recent_count=recent,
                earlier_per_day=round(earlier / t_earlier, 4), recent_per_day=round(recent / t_recent, 4),
                rate_ratio=ratio, ratio_ci_low=_odds(low, t_earlier / t_recent) or 0.0,
                ratio_ci_high=None if earlier == 0 else _odds(high, t_earlier / t_recent),
                change_pct=None if ratio is None else (ratio - 1) * 100, p_value=p,
                significant=p < bound,
            )
        )  # fmt: skip
    significant = [t for t in trends if t.significant]
    rising = [t for t in significant if t.rate_ratio is None or t.rate_ratio > 1]
    out.rising = sorted(rising, key=lambda t: (t.rate_ratio is not None, -(t.rate_ratio or 0), t.series))[:_TOP]
    falling = [t for t in significant if t.rate_ratio is not None and t.rate_ratio < 1]
    out.falling = sorted(falling, key=lambda t: (t.rate_ratio or 0, t.series))[:_TOP]
    return out


def _dispersion(days: list[int]) -> float:
    if len(days) < 2:
        return 1.0
    mean = sum(days) / len(days)
    if mean <= 0:
        return 1.0
    variance = sum((d - mean) ** 2 for d in days) / (len(days) - 1)
    return max(1.0, variance / mean)


def _ratio(recent: float, earlier: float) -> float | None:
    if earlier == 0:
        return None if recent > 0 else 1.0
    return recent / earlier


def _odds(p: float, scale: float) -> float | None:
    return None if p >= 1 else p / (1 - p) * scale
