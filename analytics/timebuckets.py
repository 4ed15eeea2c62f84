"""Bucket widths for "events over time": round durations a person reads at a glance.

A width such as 1 h 12 min 7 s (range / 60) makes axis labels unreadable, so the width is the smallest
round step (1 s, 5 min, 1 h, 1 d...) that fits the range into at most the requested number of buckets.
Buckets are aligned to the Unix epoch (like ``date_bin`` with the default origin), so day buckets start
at midnight UTC and the same event lands in the same bucket whatever range is shown.
"""

from __future__ import annotations

from typing import Final, NamedTuple

_S: Final = 1_000_000_000
_MIN: Final = 60 * _S
_H: Final = 60 * _MIN
_D: Final = 24 * _H

#: Round widths, smallest first. Finer than a second would be noise on a dashboard.
WIDTHS_NS: Final = (
    _S, 2 * _S, 5 * _S, 10 * _S, 15 * _S, 30 * _S,
    _MIN, 2 * _MIN, 5 * _MIN, 10 * _MIN, 15 * _MIN, 30 * _MIN,
    _H, 2 * _H, 3 * _H, 6 * _H, 12 * _H,
    _D, 2 * _D, 7 * _D, 14 * _D, 30 * _D, 90 * _D, 365 * _D,
)  # fmt: skip

MAX_BUCKETS: Final = 1000


class Plan(NamedTuple):
    origin_ns: int  # start of the first bucket
    width_ns: int
    buckets: int  # from origin to the bucket holding the last instant


def plan(first_ns: int, last_ns: int, buckets: int) -> Plan:
    """Buckets covering ``first_ns..last_ns`` (both inclusive), at most ``buckets`` of them.

    >>> plan(0, 3_599 * 10**9, 60)
    Plan(origin_ns=0, width_ns=60000000000, buckets=60)
    """
    if not 1 <= buckets <= MAX_BUCKETS:
        raise ValueError(f"buckets must be between 1 and {MAX_BUCKETS}")
    last_ns = max(first_ns, last_ns)
    for width in WIDTHS_NS:
        result = _fit(first_ns, last_ns, width)
        if result.buckets <= buckets:
            return result
    # Beyond the ladder (ranges of centuries): whole years, as many as it takes to fit.
    years = -(-(last_ns - first_ns + 1) // (WIDTHS_NS[-1] * buckets))
    width = WIDTHS_NS[-1] * max(1, years)
    result = _fit(first_ns, last_ns, width)
    while result.buckets > buckets:  # epoch alignment can add one bucket
        width += WIDTHS_NS[-1]
        result = _fit(first_ns, last_ns, width)
    return result


def _fit(first_ns: int, last_ns: int, width: int) -> Plan:
    origin = (first_ns // width) * width
    return Plan(origin, width, (last_ns - origin) // width + 1)
