"""A fleet lake with known answers for the insights: many installs over four weeks, written by the real
LakeWriter, with planted effects and groups too small to show.

* ``INSTALLS`` installs with a daily rhythm; every install upgrades weekly through ``VERSIONS``, and two
  beta installs run ``BETA`` instead of 1.1.0 (a version group of 2 installs).
* ``load_model`` spans get ``SLOWDOWN`` times slower from version 1.2.0 on (a regression in one version).
* Only the ``NIGHT_OWLS`` are active at 03:00 UTC: the seven (day, 03:00) heatmap cells have 3 installs.
* ``secret_feature`` is used by 2 installs only (a feature row, a trend series, an anomaly series).
* Experiment ``onboarding`` (assignment by install, alternating: equal arms): the goal ``tutorial_completed``
  converts CONTROL_RATE vs TREATMENT_RATE, ``setup_time`` is lower in the treatment.
* Experiment ``tiny`` has an arm of 3 installs: it cannot be analysed.
* Two bursts of OutOfMemoryError: ``SOLO_BURST_HOUR`` by one install (a spike that would point at it: left
  out) and ``FLEET_BURST_HOUR`` by ten installs (reported).
* One install's rows are stored twice (a retried batch): readers must count them once.
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from exporters.eventlog import schema
from exporters.lake import LAKE_SPANS_ARROW, LakeWriter
from telemetry.demo.history import poisson

NS = 10**9
HOUR = 3600 * NS
DAY = 24 * HOUR
MONDAY = (1_790_000_000 // 86_400) * 86_400 * NS  # 2026-09-21 00:00 UTC, a Monday
WEEKS = 4
INSTALLS = 80
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")
BETA = "1.1.0-beta"
BETA_INSTALLS = (0, 1)
NIGHT_OWLS = (10, 11, 12)
SECRET_USERS = (20, 21)
SLOWDOWN = 1.5
CONTROL_RATE, TREATMENT_RATE = 0.2, 0.75
TINY_ARM = (30, 31, 32)  # the installs in experiment ``tiny``'s arm "b"
SOLO_BURST_HOUR = 19 * 24 + 14  # hours since MONDAY
FLEET_BURST_HOUR = 20 * 24 + 15
FLEET_BURSTERS = range(50, 60)
EVENTS = {"model_loaded": 0.35, "training_started": 0.3, "dataset_loaded": 0.2, "adapter_exported": 0.15}


def install_id(i: int) -> str:
    return hashlib.sha256(f"install-{i}".encode()).hexdigest()


def arm_of(i: int) -> str:
    return ("control", "checklist")[i % 2]


class _Install:
    def __init__(self, i: int) -> None:
        self.i, self.id, self.rows = i, install_id(i), []  # type: list[dict[str, Any]]

    def add(self, start: int, category: str, name: str, version: str, **extra: Any) -> None:
        n = len(self.rows)
        span_id = f"{n:016x}"
        row: dict[str, Any] = {
            "share_id": hashlib.md5(f"{self.id}:{self.i:032x}:{span_id}".encode()).hexdigest(),
            "install_id": self.id, "trace_id": f"{self.i:032x}", "span_id": span_id, "name": name,
            "kind": "INTERNAL", "start_ns": start, "end_ns": start + 10**6, "duration_ms": 0.0, "status_code": "UNSET",
            "category": category, "event_type": name if category in ("event", "span") else None,
            "session_id": f"{self.i}-{start // DAY}", "attributes": "{}", "resource": "{}", "app_version": version,
            "os_type": ("linux", "darwin", "windows")[self.i % 3], "received_ns": start + NS, "hub_id": "hub-a",
        }  # fmt: skip
        row.update(extra)
        self.rows.append(row)


def _version(i: int, hour: int) -> str:
    version = VERSIONS[min(hour // (7 * 24), len(VERSIONS) - 1)]
    return BETA if version == "1.1.0" and i in BETA_INSTALLS else version


def _activity(i: int, hour_of_day: int, dow: int) -> float:
    if hour_of_day == 3:
        return 1.0 if i in NIGHT_OWLS else 0.0
    day = 0.1 + math.exp(-(((hour_of_day - 14) / 4.0) ** 2))
    return day * (0.4 if dow >= 5 else 1.0)


def _exposure(inst: _Install, t: int, name: str, variant: str, variants: list[str]) -> None:
    attrs = {schema.ATTR_EXPERIMENT_NAME: name, schema.ATTR_EXPERIMENT_VARIANT: variant,
             schema.ATTR_EXPERIMENT_VARIANTS: variants, schema.ATTR_EXPERIMENT_WEIGHTS: [0.5, 0.5],
             schema.ATTR_EXPERIMENT_UNIT: inst.id[:16]}  # fmt: skip
    inst.add(t, "event", schema.EXPOSURE_EVENT_TYPE, "1.0.0", attributes=orjson.dumps(attrs).decode())


def install_rows(i: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed * 100_003 + i)
    inst = _Install(i)
    for h in range(WEEKS * 7 * 24):
        level = _activity(i, h % 24, (h // 24) % 7)
        if level == 0:
            continue
        base, version = MONDAY + h * HOUR, _version(i, h)
        for event_type, share in EVENTS.items():
            for _ in range(poisson(rng, 0.6 * share * level)):
                inst.add(base + rng.randrange(HOUR), "event", event_type, version)
        if i in SECRET_USERS and rng.random() < 0.2 * level:
            inst.add(base + rng.randrange(HOUR), "event", "secret_feature", version)
        if rng.random() < 0.05 * level:
            inst.add(base + rng.randrange(HOUR), "error", "error", version, error_type="OutOfMemoryError",
                     status_code="ERROR")  # fmt: skip
        for _ in range(poisson(rng, 0.5 * level)):
            slow = SLOWDOWN if version >= "1.2.0" else 1.0
            ms = rng.lognormvariate(math.log(300.0), 0.3) * slow
            inst.add(base + rng.randrange(HOUR), "span", "load_model", version, duration_ms=ms, event_type=None)
    for hour, burst in ((SOLO_BURST_HOUR, 40 if i == 40 else 0), (FLEET_BURST_HOUR, 5 if i in FLEET_BURSTERS else 0)):
        for _ in range(burst):
            inst.add(MONDAY + hour * HOUR + rng.randrange(HOUR), "error", "error", _version(i, hour),
                     error_type="OutOfMemoryError", status_code="ERROR")  # fmt: skip
    # Experiments: exposed in the first week's afternoon, outcomes after.
    first = MONDAY + (i % 7) * DAY + 13 * HOUR
    arm = arm_of(i)
    for session in range(2):
        t = first + session * DAY
        _exposure(inst, t, "onboarding", arm, ["control", "checklist"])
        mean = 1000.0 if arm == "control" else 800.0
        inst.add(t + NS, "performance", "performance", "1.0.0", metric_name="setup_time", metric_unit="ms",
                 metric_value=rng.gauss(mean, 150.0))  # fmt: skip
    if rng.random() < (CONTROL_RATE if arm == "control" else TREATMENT_RATE):
        inst.add(first + 60 * NS, "event", "tutorial_completed", "1.0.0")
    if i % 4 == 0:  # before the exposure: never a conversion
        inst.add(first - HOUR, "event", "tutorial_completed", "1.0.0")
    if i < 40:
        _exposure(inst, first + 2 * NS, "tiny", "b" if i in TINY_ARM else "a", ["a", "b"])
    return inst.rows


def build_lake(root: Path, seed: int = 1, installs: int = INSTALLS) -> Path:
    """The lake, written in batches as a hub would (and one install's rows a second time, by another hub)."""
    writer = LakeWriter(root)
    batch: list[dict[str, Any]] = []
    for i in range(installs):
        batch.extend(install_rows(i, seed))
        if len(batch) > 60_000 or i == installs - 1:
            writer.write(pa.Table.from_pylist(batch, LAKE_SPANS_ARROW))
            batch = []
    again = min(5, installs - 1)
    retried = [{**row, "received_ns": row["received_ns"] + NS, "hub_id": "hub-b"} for row in install_rows(again, seed)]
    LakeWriter(root).write(pa.Table.from_pylist(retried, LAKE_SPANS_ARROW))
    return root
