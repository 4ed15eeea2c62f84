"""The few distributions the insights need, in plain ``math`` (no numpy/scipy: analytics stays light).

Regularized incomplete beta and gamma functions by their continued fractions (Lentz's method) and series;
every tail below is an exact identity on them: Student's t, chi-square, Poisson and binomial tails. The
tests check them against identities and textbook quantiles.
"""

from __future__ import annotations

import math
from typing import NamedTuple

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 100_000
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def norm_sf(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _betacf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def gammainc_lower(a: float, x: float) -> float:
    """The regularized lower incomplete gamma function P(a, x)."""
    if x <= 0.0:
        return 0.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return min(1.0, total * math.exp(log_front))
    # continued fraction for Q
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return max(0.0, 1.0 - math.exp(log_front) * h)


def chi2_sf(x: float, df: float) -> float:
    """P(X >= x) for X ~ chi-square with ``df`` degrees of freedom."""
    return 1.0 if x <= 0 else 1.0 - gammainc_lower(df / 2.0, x / 2.0)


def t_sf(t: float, df: float) -> float:
    """P(T >= t) for Student's t with ``df`` (real) degrees of freedom."""
    if math.isinf(df):
        return norm_sf(t)
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_ppf_975(df: float) -> float:
    """The 97.5% quantile of Student's t (for 95% intervals), by bisection on :func:`t_sf`."""
    if df > 1e6:
        return Z95
    lo, hi = Z95, 200.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_sf(mid, df) > 0.025 else (lo, mid)
    return (lo + hi) / 2


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    return gammainc_lower(float(k), lam)


def poisson_cdf(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam)."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    return 1.0 - gammainc_lower(float(k + 1), lam)


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return betainc(float(k), float(n - k + 1), p)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return betainc(float(n - k), float(k + 1), 1.0 - p)


def binom_two_sided(k: int, n: int, p: float) -> float:
    """Two-sided binomial test: twice the smaller tail, at most 1."""
    return min(1.0, 2.0 * min(binom_cdf(k, n, p), binom_sf(k, n, p)))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n (sensible at 0 and n, unlike the Wald interval)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


class Welch(NamedTuple):
    diff: float
    low: float
    high: float
    p_value: float  # two-sided


def welch(m1: float, v1: float, n1: int, m2: float, v2: float, n2: int) -> Welch | None:
    """Welch's t-test of mean 2 - mean 1 from summary statistics (sample variances); None if undefined."""
    if n1 < 2 or n2 < 2:
        return None
    a, b = v1 / n1, v2 / n2
    se2 = a + b
    diff = m2 - m1
    if se2 <= 0:
        return Welch(diff, diff, diff, 1.0 if diff == 0 else 0.0)
    df = se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1)) if a * a + b * b > 0 else float(n1 + n2 - 2)
    se = math.sqrt(se2)
    t = diff / se
    half = t_ppf_975(df) * se
    return Welch(diff, diff - half, diff + half, min(1.0, 2.0 * t_sf(abs(t), df)))


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> Welch | None:
    """Two-proportion z-test (pooled) of rate 2 - rate 1, with an unpooled 95% interval of the difference."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    diff = p2 - p1
    p_value = 1.0 if se0 == 0 else min(1.0, 2.0 * norm_sf(abs(diff) / se0))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return Welch(diff, diff - Z95 * se, diff + Z95 * se, p_value)


def chi_square_gof(observed: list[int], expected_shares: list[float]) -> float | None:
    """p-value of Pearson's chi-square goodness of fit of counts to shares (None if undefined)."""
    total = sum(observed)
    if total == 0 or len(observed) < 2:
        return None
    stat = 0.0
    for o, share in zip(observed, expected_shares, strict=True):
        e = total * share
        if e <= 0:
            if o > 0:
                return 0.0
            continue
        stat += (o - e) ** 2 / e
    return chi2_sf(stat, len(observed) - 1)


def norm_ppf_upper(p: float) -> float:
    """z with P(Z >= z) = p, by bisection on :func:`norm_sf` (0 < p < 1)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if norm_sf(mid) > p else (lo, mid)
    return (lo + hi) / 2
