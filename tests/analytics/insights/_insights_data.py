"""Event logs with known rhythm and planted effects, built fast with Arrow bulk inserts into a real DuckDB file.

A fleet of four weeks starting on a Monday 00:00 UTC: events and errors per hour are Poisson with a daily
rhythm (busy afternoons, quiet nights) and a weekly one (quiet weekends); duration series are lognormal;
a new app version ships every week. ``Plan`` says what is planted on top: a slowdown from a version on, an
error burst in one hour, a rising event type. ``experiment_log`` builds many installs in an A/B test.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson
from _analytics_helpers import NS, Row, create_log, insert

from exporters.eventlog import schema

HOUR = 3600 * NS
DAY = 24 * HOUR
MONDAY = (1_790_000_000 // 86_400) * 86_400 * NS  # 2026-09-21 00:00 UTC, a Monday
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")
EVENT_SHARES = {"model_loaded": 0.3, "training_started": 0.25, "dataset_loaded": 0.2, "adapter_exported": 0.15,
                "settings_changed": 0.1}  # fmt: skip
ERROR_RATES = {"OutOfMemoryError": 0.5, "ValueError": 0.3}
DURATIONS = {  # series -> (category, typical ms, samples per busy hour)
    "load_model": ("span", 300.0, 3.0),
    "GET /api/models": ("http", 35.0, 3.0),
    "training_step_time": ("performance", 450.0, 3.0),
}


@dataclass
class Plan:
    seed: int = 0
    days: int = 28
    events_per_busy_hour: float = 12.0
    slowdown: float | None = None  # ``slow_series`` durations multiplied from version ``slow_version`` on
    slow_series: str = "load_model"
    slow_version: str = "1.2.0"
    burst_hour: int | None = None  # hours since MONDAY: extra OutOfMemoryErrors in that hour
    burst_size: int = 25
    rising: str | None = None  # this event type's rate doubles in the last 7 days
    null_series: int = 0  # extra span series with no change at all


def rhythm(hour_index: int) -> float:
    """Busy from morning to evening UTC, quiet at night, weekends at 40%."""
    hour, dow = hour_index % 24, (hour_index // 24) % 7
    day = 0.15 + math.exp(-(((hour - 14) / 4.0) ** 2))
    return day * (0.4 if dow >= 5 else 1.0)


def version_at(hour_index: int) -> str:
    return VERSIONS[min(hour_index // (7 * 24), len(VERSIONS) - 1)]


def poisson(rng: random.Random, lam: float) -> int:
    """Exact Poisson draw (inversion by sequential search, split for large means)."""
    if lam > 30:
        return poisson(rng, lam / 2) + poisson(rng, lam / 2)
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        p *= rng.random()
        k += 1
    return k


def _resource(version: str) -> str:
    return orjson.dumps({"service.name": "peft-studio", "service.version": version}).decode()


class _Rows:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, start: int, category: str, name: str, version: str, **extra: Any) -> None:
        i = len(self.rows)
        duration_ms = float(extra.pop("duration_ms", 0.0))
        row: Row = {
            "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "name": name, "kind": "INTERNAL",
            "start_ns": start, "end_ns": start + int(duration_ms * 1e6), "duration_ms": duration_ms,
            "status_code": "UNSET", "category": category, "event_type": name, "session_id": f"s{start // HOUR}",
            "attributes": "{}", "resource": _resource(version), "scope_name": "peft_studio.telemetry",
        }  # fmt: skip
        row.update(extra)
        self.rows.append(row)


def fleet_rows(plan: Plan) -> list[Row]:
    rng = random.Random(plan.seed)
    out = _Rows()
    hours = plan.days * 24
    durations = dict(DURATIONS)
    for i in range(plan.null_series):
        durations[f"null_span_{i}"] = ("span", 100.0 + 10 * i, 2.0)
    for h in range(hours):
        level = rhythm(h)
        version = version_at(h)
        base = MONDAY + h * HOUR

        def at() -> int:
            return base + int(rng.random() * HOUR)  # noqa: B023 - used within this iteration only

        for event_type, share in EVENT_SHARES.items():
            lam = plan.events_per_busy_hour * share * level
            if plan.rising == event_type and h >= hours - 7 * 24:
                lam *= 2
            for _ in range(poisson(rng, lam)):
                out.add(at(), "event", event_type, version)
        for error_type, rate in ERROR_RATES.items():
            burst = h == plan.burst_hour and error_type == "OutOfMemoryError"
            n = poisson(rng, rate * level) + (plan.burst_size if burst else 0)
            for _ in range(n):
                out.add(at(), "error", "error", version, error_type=error_type, status_code="ERROR")
        for series, (category, typical, per_hour) in durations.items():
            slowed = series == plan.slow_series and plan.slowdown and version >= plan.slow_version
            slow = plan.slowdown if slowed else 1.0
            for _ in range(poisson(rng, per_hour * level)):
                ms = rng.lognormvariate(math.log(typical), 0.35) * slow
                if category == "performance":
                    out.add(at(), "performance", "performance", version, metric_name=series, metric_unit="ms",
                            metric_value=ms)  # fmt: skip
                elif category == "http":
                    attrs = orjson.dumps({"http.route": "/api/models", "http.request.method": "GET"}).decode()
                    out.add(at(), "http", series, version, kind="SERVER", duration_ms=ms, attributes=attrs)
                else:
                    out.add(at(), "span", series, version, duration_ms=ms)
    return out.rows


def build(path: Path, rows: list[Row]) -> Path:
    create_log(path)
    with duckdb.connect(str(path)) as con:
        insert(con, schema.SPANS, rows)
    return path


@dataclass
class Arm:
    variant: str
    share: float  # of installs actually assigned (an SRM plants a share that differs from the weight)
    weight: float  # what the experiment declares
    conversion: float  # chance a unit emits the goal event after its first exposure
    metric_mean: float  # mean of the unit's setup_time (ms)


def experiment_rows(arms: list[Arm], units: int, seed: int, name: str = "onboarding") -> list[Row]:
    """``units`` installs, each with 1-3 sessions in the first week, exposed at each session start."""
    rng = random.Random(seed)
    out = _Rows()
    variants = [a.variant for a in arms]
    weights = [a.weight for a in arms]
    for u in range(units):
        unit = f"{rng.getrandbits(64):016x}"
        arm = rng.choices(arms, [a.share for a in arms])[0]
        converted = rng.random() < arm.conversion
        start = MONDAY + int(rng.random() * 7 * DAY)
        for s in range(rng.randint(1, 3)):
            session = f"{unit}-{s}"
            t = start + s * DAY
            if s == 0 and u % 4 == 0:  # before exposure: must not count as a conversion
                out.add(t - NS, "event", "tutorial_completed", "1.0.0", session_id=session)
            attrs = {schema.ATTR_EXPERIMENT_NAME: name, schema.ATTR_EXPERIMENT_VARIANT: arm.variant,
                     schema.ATTR_EXPERIMENT_VARIANTS: variants, schema.ATTR_EXPERIMENT_WEIGHTS: weights,
                     schema.ATTR_EXPERIMENT_UNIT: unit}  # fmt: skip
            out.add(t, "event", schema.EXPOSURE_EVENT_TYPE, "1.0.0", session_id=session,
                    attributes=orjson.dumps(attrs).decode())  # fmt: skip
            out.add(t + NS, "event", "app_started", "1.0.0", session_id=session)
            value = rng.gauss(arm.metric_mean, arm.metric_mean * 0.3)
            out.add(t + 2 * NS, "performance", "performance", "1.0.0", session_id=session, metric_name="setup_time",
                    metric_unit="ms", metric_value=value)  # fmt: skip
            if converted and s == 0:
                out.add(t + 60 * NS, "event", "tutorial_completed", "1.0.0", session_id=session)
    return out.rows
