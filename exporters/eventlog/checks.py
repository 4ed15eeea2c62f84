"""Checks of ``EventLog``'s arguments: wrong configuration raises ``ValueError`` at construction, never later.

Example: ``positive_int("max_events", 0)`` raises ``ValueError("max_events must be a positive integer")``.
"""

from __future__ import annotations

import math


def positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer")


def finite(name: str, value: object, *, zero_ok: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    if value < 0 or (value == 0 and not zero_ok):
        raise ValueError(f"{name} must be {'>= 0' if zero_ok else '> 0'}")
