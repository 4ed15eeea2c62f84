"""Performance regressions: per duration series, a change point in time, the app version where it began,
before/after p50 and p95 and a p-value.

Series: every ``track_performance`` metric with a time unit (ms, s, us, ns, min, h), every plain OTel span
name (its durations) and every HTTP route (server timings). A "regression" is a series that got slower.

Method (one SQL pass, then arithmetic on a few hundred numbers per series):

1. Rows are split in two halves by a hash of the span id. Per series, half and time bin (``_BINS`` equal
   bins over the range) SQL returns count, sum and sum of squares of the log duration.
2. On the first half, the change point is the split between bins that maximizes Welch's t of the log
   durations after vs before (binary segmentation, one change), with at least ``min_samples`` a side.
3. On the second half, at that same split, Welch's one-sided t-test on log durations gives the p-value.
   Locating on one half and testing on the other keeps the p-value honest: scanning every split for the
   largest t would otherwise make false alarms far more likely than ``alpha``.
4. Flagged when p < alpha / STRICTNESS and the geometric-mean slowdown is at least ``_MIN_RELATIVE``; then one more
   query per flagged series finds the version: the first version (in order of appearance) whose log mean
   lies nearer the slow level than the fast one, and the change time is its first sample (without such a
   version, the start of the bin after the split). p50 and p95 before and after are exact, over all rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, cast

from analytics.insights import _stats
from analytics.insights._scope import RANGE, VERSIONS, Scope
from analytics.insights.models import Regression, Regressions, SeriesKind
from exporters.eventlog.schema import SPANS

_BINS: Final = 200
MIN_SAMPLES: Final = 50  # per side of the change point, in the test half
#: The per-series level is alpha / 5: the target is at most alpha of null series flagged, with room to spare.
STRICTNESS: Final = 5
_MIN_RELATIVE: Final = 0.10
_TIME_UNITS: Final = ("ms", "s", "us", "ns", "min", "h")

_SERIES: Final = f"""
    CASE WHEN category = 'performance' THEN 'performance' ELSE category END AS kind,
    CASE WHEN category = 'performance' THEN coalesce(metric_name, '') ELSE coalesce(event_type, name, '') END
        AS series,
    CASE WHEN category = 'performance' THEN metric_unit ELSE 'ms' END AS unit,
    CASE WHEN category = 'performance' THEN metric_value ELSE duration_ms END AS v
FROM {SPANS}
WHERE {RANGE} AND (category IN ('span', 'http')
                   OR (category = 'performance' AND metric_unit IN {_TIME_UNITS!r}))
"""

#: ``$bin_ns`` is the range / _BINS rounded up (a division, so no overflow on long ranges). The half is a
#: hash of the start time: independent of the value, and a BIGINT hashes faster than the span id text.
BINNED: Final = f"""
WITH rows AS (SELECT start_ns, {_SERIES}), logs AS (
    SELECT kind, series, unit, (hash(start_ns) & 1)::INTEGER AS half,
           least((start_ns - $first) // $bin_ns, {_BINS - 1})::INTEGER AS bin, ln(v) AS lv
    FROM rows WHERE v > 0 AND isfinite(v)
)
SELECT kind, series, unit, half, bin, count(*), sum(lv), sum(lv * lv)
FROM logs GROUP BY ALL
"""

#: Per version of one series: samples, mean log duration, first sample.
BY_VERSION: Final = f"""
WITH {VERSIONS}, rows AS (SELECT start_ns, resource_id, {_SERIES})
SELECT coalesce(version, 'unknown'), count(*), avg(ln(v)), min(start_ns)
FROM rows LEFT JOIN versions USING (resource_id)
WHERE kind = $kind AND series = $series AND unit IS NOT DISTINCT FROM $unit AND v > 0 AND isfinite(v)
GROUP BY ALL ORDER BY 4
"""

QUANTILES: Final = f"""
WITH rows AS (SELECT start_ns, {_SERIES})
SELECT start_ns >= $change AS after, count(*), quantile_cont(v, [0.5, 0.95])
FROM rows WHERE kind = $kind AND series = $series AND unit IS NOT DISTINCT FROM $unit AND v > 0 AND isfinite(v)
GROUP BY ALL
"""

METHOD: Final = (
    "Per series: change point located on one random half of the samples (max Welch t of log durations over "
    "time bins), tested on the other half (one-sided Welch t on log durations); flagged when the "
    f"geometric mean grew by >= {_MIN_RELATIVE:.0%} and p < alpha / {STRICTNESS}, so at most alpha / {STRICTNESS} "
    "of series without a change are flagged (measured in tests/analytics/insights)."
)


@dataclass
class _Bins:
    n: list[int] = field(default_factory=lambda: [0] * _BINS)
    s: list[float] = field(default_factory=lambda: [0.0] * _BINS)
    ss: list[float] = field(default_factory=lambda: [0.0] * _BINS)


def _t_at(b: _Bins, k: int) -> tuple[float, float, int, int] | None:
    """Welch's t (after - before) of log durations split before bin ``k``, its df, and the sample sizes."""
    n1, s1, q1 = sum(b.n[:k]), sum(b.s[:k]), sum(b.ss[:k])
    n2, s2, q2 = sum(b.n[k:]), sum(b.s[k:]), sum(b.ss[k:])
    return _welch_t(n1, s1, q1, n2, s2, q2)


def _welch_t(n1: int, s1: float, q1: float, n2: int, s2: float, q2: float) -> tuple[float, float, int, int] | None:
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = s1 / n1, s2 / n2
    v1 = max(0.0, (q1 - n1 * m1 * m1) / (n1 - 1))
    v2 = max(0.0, (q2 - n2 * m2 * m2) / (n2 - 1))
    a, b = v1 / n1, v2 / n2
    if a + b <= 0:
        return None
    t = (m2 - m1) / math.sqrt(a + b)
    df = (a + b) ** 2 / ((a * a / (n1 - 1) if n1 > 1 else 0) + (b * b / (n2 - 1) if n2 > 1 else 0) or 1e-300)
    return t, df, n1, n2


def _locate(b: _Bins, min_samples: int) -> int | None:
    """The bin index k maximizing t(after=k.., before=..k-1), with ``min_samples`` on each side."""
    total = sum(b.n)
    best, best_k = 0.0, None
    n1 = s1 = q1 = 0.0
    s_all, q_all = sum(b.s), sum(b.ss)
    for k in range(1, _BINS):
        n1 += b.n[k - 1]
        s1 += b.s[k - 1]
        q1 += b.ss[k - 1]
        n2 = total - n1
        if n1 < min_samples:
            continue
        if n2 < min_samples:
            break
        found = _welch_t(int(n1), s1, q1, int(n2), s_all - s1, q_all - q1)
        if found is not None and found[0] > best:
            best, best_k = found[0], k
    return best_k


def compute(scope: Scope) -> Regressions:
    level = scope.alpha / STRICTNESS
    out = Regressions(min_samples=MIN_SAMPLES, min_relative_change=_MIN_RELATIVE, alpha=level, method=METHOD)
    if scope.first_ns is None or scope.end_ns is None:
        return out
    width = max(1, scope.end_ns - scope.first_ns)
    series: dict[tuple[str, str, str | None], tuple[_Bins, _Bins]] = {}
    bin_ns = -(-width // _BINS)
    for kind, name, unit, half, k, n, s, ss in scope.rows(BINNED, first=scope.first_ns, bin_ns=bin_ns):
        halves = series.get((kind, name, unit))
        if halves is None:
            halves = series[(kind, name, unit)] = (_Bins(), _Bins())
        b = halves[half]
        b.n[k], b.s[k], b.ss[k] = n, s, ss
    out.series_examined = len(series)
    for (kind, name, unit), (locate_half, test_half) in sorted(series.items(), key=lambda kv: kv[0][:2]):
        k = _locate(locate_half, MIN_SAMPLES)
        if k is None:
            continue
        tested = _t_at(test_half, k)
        if tested is None:
            continue
        t, df, n1, n2 = tested
        if n1 < MIN_SAMPLES or n2 < MIN_SAMPLES:
            continue
        p_value = _stats.t_sf(t, df)
        before_mean = sum(test_half.s[:k]) / n1
        after_mean = sum(test_half.s[k:]) / n2
        if p_value >= level or math.exp(after_mean - before_mean) - 1 < _MIN_RELATIVE:
            continue
        change_ns = scope.first_ns + k * bin_ns
        item = _describe(scope, kind, name, unit, change_ns, p_value)
        if item is not None:
            out.items.append(item)
    out.items.sort(key=lambda r: (r.relative_change is not None, -(r.relative_change or 0), r.series))
    return out


def _describe(
    scope: Scope, kind: str, name: str, unit: str | None, bin_change_ns: int, p_value: float
) -> Regression | None:
    versions = scope.rows(BY_VERSION, kind=kind, series=name, unit=unit)
    # Log levels before and after the time split, from the per-version means weighted by samples.
    before = [(n, m) for _, n, m, first in versions if first < bin_change_ns]
    after = [(n, m) for _, n, m, first in versions if first >= bin_change_ns]
    change_ns, version, previous = bin_change_ns, None, None
    if before and after:
        slow = sum(n * m for n, m in after) / sum(n for n, _ in after)
        fast = sum(n * m for n, m in before) / sum(n for n, _ in before)
        for i, (v, _n, mean, first) in enumerate(versions):
            if i > 0 and abs(mean - slow) < abs(mean - fast):
                change_ns, version, previous = first, v, versions[i - 1][0]
                break
    if version is None:
        # No version stands out (one version only, or the change happened within one): name the one
        # running at the change and the one before it.
        at = [v for v, _n, _m, first in versions if first <= bin_change_ns]
        version = at[-1] if at else (versions[0][0] if versions else None)
        previous = at[-2] if len(at) > 1 else None
    quantiles = {
        after: (n, q) for after, n, q in scope.rows(QUANTILES, kind=kind, series=name, unit=unit, change=change_ns)
    }
    if True not in quantiles or False not in quantiles:
        return None
    (nb, qb), (na, qa) = quantiles[False], quantiles[True]
    return Regression(
        series=name, kind=cast(SeriesKind, kind), unit=unit, change_ns=change_ns,
        version=None if version == "unknown" else version,
        previous_version=None if previous == "unknown" else previous,
        before_count=nb, after_count=na, before_p50=qb[0], before_p95=qb[1], after_p50=qa[0], after_p95=qa[1],
        relative_change=(qa[0] / qb[0] - 1) if qb[0] > 0 else None, p_value=p_value,
    )  # fmt: skip
