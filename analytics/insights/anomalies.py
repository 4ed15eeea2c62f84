"""Anomalies: hours in which an event type's count or an error type's count left the series' own rhythm.

Per series (each event type, each error type, and all events / all errors together) SQL counts spans per
UTC hour; every hour of the range is judged, empty ones included, against the same hour of the week in the
other weeks of the range (a busy Monday 09:00 is compared with other Mondays at 09:00, never with Sunday
night). That needs ``MIN_WEEKS`` other weeks of history; hours without them are not judged, nor is a
partial first or last hour (the log began at 09:40, or "now" is 16:20: it would look like a drop). Only the
last ``WINDOW_WEEKS`` weeks of the range are looked at.

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
#: Only the most recent weeks are judged (each against the others): old hours are news no more, and the
#: cost stays flat however long the log.
WINDOW_WEEKS: Final = 8
_HOURS_PER_WEEK: Final = 168
_MAX_SERIES: Final = 40
ALL_EVENTS: Final = "(all events)"
ALL_ERRORS: Final = "(all errors)"

#: Every (series, hour) of the range, zeros included, with the other weeks at that hour of the week, the
#: series' dispersion, and only the hours worth testing: the Python side runs the exact test on those.
#: One marker row per series (hour -1) carries its dispersion, so series without candidates are counted.
#: Split in two so that the fleet (:mod:`analytics.fleet.insights`) shares the analysis: it computes the
#: hourly ``counts`` over the lake (series of fewer than k installs with ``shown`` false: they count in the
#: totals only) and runs :data:`ANALYSIS` on them. Here every series is shown.
COUNTS: Final = f"""
    SELECT category,
           CASE category WHEN 'error' THEN coalesce(error_type, 'unknown') ELSE coalesce(event_type, '') END AS series,
           start_ns // {HOUR_NS} - $first_hour AS h, count(*) AS x, true AS shown
    FROM {SPANS}
    WHERE category IN ('event', 'error') AND {RANGE}
      AND start_ns >= $first_hour * {HOUR_NS} AND start_ns < ($first_hour + $hours) * {HOUR_NS}
    GROUP BY ALL
"""

#: ``counts(category, series, h, x, shown)`` -> one marker row per series and the candidate hours.
ANALYSIS: Final = f"""
ranked AS (
    SELECT category, series FROM counts WHERE shown GROUP BY ALL
    ORDER BY sum(x) DESC, category, series LIMIT {_MAX_SERIES}
), picked AS (
    SELECT category, series, h, x FROM counts SEMI JOIN ranked USING (category, series)
    UNION ALL
    SELECT category, CASE category WHEN 'error' THEN '{ALL_ERRORS}' ELSE '{ALL_EVENTS}' END, h, sum(x)
    FROM counts GROUP BY category, h
), grid AS MATERIALIZED (
    SELECT s.category, s.series, g.h, coalesce(p.x, 0) AS x
    FROM (SELECT DISTINCT category, series FROM picked) s CROSS JOIN range($hours) g(h)
    LEFT JOIN picked p ON p.category = s.category AND p.series = s.series AND p.h = g.h
), cols AS (
    SELECT *, sum(x) OVER w - x AS y, count(*) OVER w - 1 AS k
    FROM grid WINDOW w AS (PARTITION BY category, series, h % {_HOURS_PER_WEEK})
), judged AS (
    SELECT *, y / k AS mean_o, (x - y / k) ** 2 / (greatest(y / k, 0.5) * (1 + 1 / k)) AS term
    FROM cols WHERE k >= {MIN_WEEKS}
), dispersion AS (
    SELECT category, series, greatest(1.0, avg(term) FILTER (WHERE term <= q)) AS phi
    FROM judged JOIN (SELECT category, series, quantile_cont(term, 0.99) AS q FROM judged GROUP BY ALL)
         USING (category, series)
    GROUP BY ALL
), candidates AS (
    SELECT j.category, j.series, j.h, j.x, j.k, d.phi
    FROM judged j JOIN dispersion d USING (category, series)
    WHERE abs(j.x - j.mean_o) >= $z * sqrt(d.phi * greatest(j.mean_o, 0.5) * (1 + 1 / j.k)) - 1
)
SELECT category, series, -1 AS h, 0 AS x, 0 AS k, phi, NULL AS others FROM dispersion
UNION ALL
SELECT c.category, c.series, c.h, c.x, c.k, c.phi, list(g.x) AS others
FROM candidates c JOIN grid g
  ON g.category = c.category AND g.series = c.series AND g.h % {_HOURS_PER_WEEK} = c.h % {_HOURS_PER_WEEK}
     AND g.h <> c.h
GROUP BY ALL
"""

CANDIDATES: Final = f"WITH counts AS ({COUNTS}), {ANALYSIS}"

METHOD: Final = (
    "Per series and UTC hour: observed count vs the median of the same hour of the week in the other weeks "
    "(robust z score); flagged by an exact conditional binomial test on dispersion-scaled counts below "
    "alpha / (hours x series x 2) (Bonferroni): at most alpha chance of any flag in a report without anomalies."
)


def compute(scope: Scope) -> Anomalies:
    out = Anomalies(min_weeks=MIN_WEEKS, method=METHOD)
    if scope.first_ns is None or scope.end_ns is None:
        return out
    # Whole hours only: a partial first or last hour (the log began at 09:40; "now" is 16:20) would look
    # like a drop in every series.
    start = scope.first_ns if scope.since_ns is None else max(scope.since_ns, scope.first_ns)
    start = max(start, scope.end_ns - WINDOW_WEEKS * _HOURS_PER_WEEK * HOUR_NS)
    first_hour = -(-start // HOUR_NS)
    hours = scope.end_ns // HOUR_NS - first_hour
    judged = _judged_hours(hours) if hours > 0 else 0
    if hours > 0:
        out.window_start_ns, out.window_end_ns = first_hour * HOUR_NS, (first_hour + hours) * HOUR_NS
    if judged == 0:
        return out
    # The number of series is known only from the answer; the Bonferroni bound needs it before the screen,
    # so the screen uses the largest possible family (every picked series) and the test the actual one.
    most = (_MAX_SERIES + 2) * judged
    z = max(3.0, _stats.norm_ppf_upper(scope.alpha / (2 * most)) - 1.5)  # cheap pre-filter; the test decides
    rows = scope.rows(CANDIDATES, first_hour=first_hour, hours=hours, z=z)
    series = sum(1 for row in rows if row[2] < 0)
    out.series_examined = series
    out.hours_examined = series * judged
    if not series:
        return out
    threshold = scope.alpha / (2 * out.hours_examined)
    out.threshold = threshold
    for category, name, h, x, k, phi, others in rows:
        if h < 0:
            continue
        found = _test(x, k, phi, others, threshold)
        if found is None:
            continue
        expected, score, p, spike = found
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


def _judged_hours(hours: int) -> int:
    """How many hours have at least MIN_WEEKS other weeks at the same hour of the week inside the range."""
    return sum(1 for h in range(hours) if (hours - 1 - h) // _HOURS_PER_WEEK + h // _HOURS_PER_WEEK >= MIN_WEEKS)


def _test(x: int, k: int, phi: float, others: list[int], threshold: float) -> tuple[float, float, float, bool] | None:
    """(expected, robust score, p-value, spike?) when the hour is flagged, else None."""
    median = statistics.median(others)
    cap = 3 * median + 5
    y = sum(min(o, cap) for o in others)
    spike = x > y / k
    xs, ys = round(x / phi), round(y / phi)
    n = xs + ys
    p = _stats.binom_sf(xs, n, 1 / (k + 1)) if spike else _stats.binom_cdf(xs, n, 1 / (k + 1))
    if p >= threshold:
        return None
    mad = statistics.median(abs(o - median) for o in others)
    spread = max(1.4826 * mad, math.sqrt(max(median, 1.0) * phi))
    return float(median), (x - median) / spread, p, spike
