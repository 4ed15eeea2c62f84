"""Anomalies: hours in which an event type's count or an error type's count left the series' own rhythm.

Per series (each event type, each error type, and all events / all errors together) SQL counts spans per
UTC hour; every hour of the range is judged, empty ones included, against the same hour of the week in the
other weeks of the range (a busy Monday 09:00 is compared with other Mondays at 09:00, never with Sunday
night). That needs ``MIN_WEEKS`` other weeks of history; hours without them are not judged.

* expected = the median of the other weeks' counts at that hour of the week (robust to another week's
  burst), and score = (observed - expected) / spread, the spread being 1.4826 x their MAD, floored at the
  Poisson sqrt(expected x dispersion).
* The flag is a test, not a threshold on the score: given the observed count x and the other weeks' total y
  (each week capped at 3 x median + 5, so an old burst does not hide a new one) over k weeks, equal rates
  mean x ~ Binomial(x + y, 1 / (k + 1)) (exact for Poisson counts). Counts that come in clumps (a session
  emits many events in one hour) are over-dispersed: both counts are divided by the series' dispersion
  (Pearson chi-square per degree of freedom over all its hours, outer 1% trimmed, at least 1) before the
  test. An hour is flagged when the p-value is below alpha / (hours x series x 2 sides) (Bonferroni), so
  on data without anomalies the chance of any flag in a whole report is at most alpha.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from typing import Final

from analytics.insights import _stats
from analytics.insights._scope import HOUR_NS, RANGE, Scope
from analytics.insights.models import DAYS, Anomalies, Anomaly
from exporters.eventlog.schema import SPANS

MIN_WEEKS: Final = 2
_HOURS_PER_WEEK: Final = 168
_MAX_SERIES: Final = 40
ALL_EVENTS: Final = "(all events)"
ALL_ERRORS: Final = "(all errors)"

HOURLY: Final = f"""
SELECT category, CASE category WHEN 'error' THEN coalesce(error_type, 'unknown') ELSE coalesce(event_type, '') END,
       start_ns // {HOUR_NS} AS hour, count(*)
FROM {SPANS} WHERE category IN ('event', 'error') AND {RANGE}
GROUP BY ALL
"""

METHOD: Final = (
    "Per series and UTC hour: observed count vs the median of the same hour of the week in the other weeks "
    "(robust z score); flagged by an exact conditional binomial test on dispersion-scaled counts below "
    "alpha / (hours x series x 2) (Bonferroni): at most alpha chance of any flag in a report without anomalies."
)


def compute(scope: Scope) -> Anomalies:
    out = Anomalies(min_weeks=MIN_WEEKS, method=METHOD)
    if scope.first_ns is None or scope.end_ns is None:
        return out
    first_hour = scope.first_ns // HOUR_NS
    hours = (scope.end_ns - 1) // HOUR_NS - first_hour + 1
    counts: dict[tuple[str, str], dict[int, int]] = {}
    totals: dict[str, dict[int, int]] = {"event": {}, "error": {}}
    for category, name, hour, n in scope.rows(HOURLY):
        counts.setdefault((category, name), {})[hour - first_hour] = n
        total = totals[category]
        total[hour - first_hour] = total.get(hour - first_hour, 0) + n
    # The busiest series (plus the two totals): a long tail of rare types cannot be judged hourly anyway.
    ranked = sorted(counts.items(), key=lambda kv: -sum(kv[1].values()))[:_MAX_SERIES]
    series = [(("event", ALL_EVENTS), totals["event"]), (("error", ALL_ERRORS), totals["error"]), *ranked]
    series = [s for s in series if s[1]]
    judged = _judged_hours(hours)
    out.series_examined = len(series)
    out.hours_examined = len(judged) * len(series)
    if not judged or not series:
        return out
    threshold = scope.alpha / (2 * out.hours_examined)
    out.threshold = threshold
    for (category, name), by_hour in series:
        grid = [by_hour.get(h, 0) for h in range(hours)]
        for h, x, expected, score, p, spike in _flagged(grid, judged, threshold):
            start = (first_hour + h) * HOUR_NS
            moment = datetime.fromtimestamp(start / 1e9, UTC)
            out.items.append(
                Anomaly(
                    series=name, kind="error" if category == "error" else "event",
                    measure="errors" if category == "error" else "events",
                    window_start_ns=start, window_end_ns=start + HOUR_NS, date=moment.date().isoformat(),
                    day_of_week=DAYS[moment.weekday()], hour=moment.hour, observed=x, expected=expected,
                    score=round(score, 2), p_value=p, direction="spike" if spike else "drop",
                )
            )  # fmt: skip
    out.items.sort(key=lambda a: (a.p_value, -abs(a.score)))
    return out


def _judged_hours(hours: int) -> list[int]:
    """Hours with at least MIN_WEEKS other weeks at the same hour of the week inside the range."""
    return [h for h in range(hours) if (hours - 1 - h) // _HOURS_PER_WEEK + h // _HOURS_PER_WEEK >= MIN_WEEKS]


def _others(grid: list[int], h: int) -> list[int]:
    week = _HOURS_PER_WEEK
    return [grid[j] for j in range(h % week, len(grid), week) if j != h]


def _leave_one_out(grid: list[int], judged: list[int]) -> list[tuple[int, int, float, int]]:
    """(hour, count, mean of the other weeks at that hour of the week, how many) per judged hour, from
    per-column totals: linear in the hours, which matters at 2,000 hours x 40 series."""
    week = _HOURS_PER_WEEK
    totals = [sum(grid[c::week]) for c in range(min(week, len(grid)))]
    sizes = [len(range(c, len(grid), week)) for c in range(min(week, len(grid)))]
    out = []
    for h in judged:
        c, x = h % week, grid[h]
        k = sizes[c] - 1
        out.append((h, x, (totals[c] - x) / k, k))
    return out


def _dispersion(rows: list[tuple[int, int, float, int]]) -> float:
    """Pearson chi-square per hour of counts against their leave-one-out hour-of-week mean; >= 1."""
    terms = sorted((x - mean) ** 2 / (max(mean, 0.5) * (1 + 1 / k)) for _, x, mean, k in rows)
    if not terms:
        return 1.0
    kept = terms[: max(1, math.ceil(len(terms) * 0.99))]
    return max(1.0, sum(kept) / len(kept))


def _flagged(grid: list[int], judged: list[int], threshold: float) -> list[tuple[int, int, float, float, float, bool]]:
    rows = _leave_one_out(grid, judged)
    phi = _dispersion(rows)
    z_screen = max(3.0, _stats.norm_ppf_upper(threshold) - 1.5)  # cheap pre-filter; the test decides
    found = []
    for h, x, mean_all, k in rows:
        if abs(x - mean_all) < z_screen * math.sqrt(phi * max(mean_all, 0.5) * (1 + 1 / k)) - 1:
            continue
        others = _others(grid, h)
        median = statistics.median(others)
        cap = 3 * median + 5
        y = sum(min(o, cap) for o in others)
        mean = y / k
        xs, ys = round(x / phi), round(y / phi)
        spike = x > mean
        n = xs + ys
        p = _stats.binom_sf(xs, n, 1 / (k + 1)) if spike else _stats.binom_cdf(xs, n, 1 / (k + 1))
        if p >= threshold:
            continue
        mad = statistics.median(abs(o - median) for o in others)
        spread = max(1.4826 * mad, math.sqrt(max(median, 1.0) * phi))
        found.append((h, x, float(median), (x - median) / spread, p, spike))
    return found
