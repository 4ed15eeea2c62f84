"""Insights over the fleet lake: the local report's trends, anomalies, regressions, heatmaps and experiments,
computed from aggregates the lake's engine (DuckDB or Spark) returns, with k-anonymity.

>>> report = fleet_insights(Path("/srv/lake"), InsightsFilter(since="2026-11-01"), min_installs=5)
>>> report.experiments.items[0].variants[1].units      # installs in the second arm
>>> report.suppressed                                 # groups left out: fewer than 5 installs

How it is shared with the local report: the local modules (:mod:`analytics.insights`) ask their scope for
rows by naming their query (``trends.DAILY``, ``regressions.BINNED``, ...). :class:`LakeScope` answers the
same questions, in the same row shape, from :mod:`analytics.fleet.insights_sql` (aggregates written once in
DuckDB SQL, transpiled for Spark), so the statistics (tests, change points, intervals) are the local code
itself. Anomalies go one step further: the engine returns hourly counts, and the local analysis SQL
(``anomalies.ANALYSIS``) runs on them in an in-memory DuckDB. Every engine answers with the same rows (sums
in fixed point, rows sorted before use), so both engines give equal reports.

On the lake an experiment's unit is the install (``install_id``): its variant is the one of its first
exposure, its outcomes every event after that. An experiment with an arm of fewer than k installs is not
analysed (its message says why).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from analytics.fleet import insights_sql as q
from analytics.fleet.reports import _checked_k, _normalized
from analytics.insights import anomalies, experiments, heatmap, regressions, trends
from analytics.insights._scope import HOUR_NS, Scope
from analytics.insights.models import Anomaly, Experiment, Experiments, InsightsFilter, InsightsReport
from exporters.lake.schema import NOTHING_COMPACTED, CompactedDays, deduped_sql

Run = Callable[[str], list[dict[str, Any]]]


def lake_view_sql(compacted: CompactedDays = NOTHING_COMPACTED) -> str:
    """The ``lake_spans`` view the insights read: deduplicated (but on ``compacted`` days), the insights' columns."""
    return deduped_sql(q.SLIM_SOURCE, ", ".join(q.COLUMNS), compacted)


def _canonical(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Plain values in a fixed order: engines return groups in any order, and ties must break alike."""
    plain = [tuple(_normalized(row).values()) for row in rows]
    return sorted(plain, key=repr)


@dataclass(frozen=True)
class LakeScope(Scope):
    """A :class:`Scope` whose questions are answered over the lake by ``run`` (one engine's SQL -> rows)."""

    run: Run | None = None
    k: int = 5
    suppressed: dict[str, int] = field(default_factory=dict)
    arms: dict[str, int] = field(default_factory=dict)  # experiment -> arms left out
    hour_installs: dict[tuple[str, str, int], int] = field(default_factory=dict)  # (category, series, UTC hour)

    @property
    def _range(self) -> str:
        return q.where_range(self.since_ns, self.until_ns)

    def _fetch(self, rows_and_left_out: tuple[str, str], section: str) -> list[tuple[Any, ...]]:
        assert self.run is not None
        rows_sql, left_out_sql = rows_and_left_out
        counted = self.run(left_out_sql)
        left_out = int(_normalized(counted[0])["suppressed"] or 0) if counted else 0
        self.suppressed[section] = self.suppressed.get(section, 0) + left_out
        return _canonical(self.run(rows_sql))

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        answer = _ANSWERS.get(sql)
        if answer is None:  # a new local query nobody taught the lake: fail loudly in tests, not silently
            raise NotImplementedError("this insights query has no lake counterpart in analytics.fleet.insights_sql")
        return answer(self, **params)

    # -- the answers, one per local query --------------------------------------------------------------

    def _daily(self, first: int) -> list[tuple[Any, ...]]:
        return self._fetch(q.trends_daily(self._range, first, self.k), "trends")

    def _candidates(self, first_hour: int, hours: int, z: float) -> list[tuple[Any, ...]]:
        counts = self._fetch(q.anomaly_counts(self._range, first_hour, hours, self.k), "anomaly_series")
        # Who each hour is made of: a spike flagged in an hour of fewer than k installs is left out later.
        assert self.run is not None
        for category, series, h, _x, shown, installs in counts:
            if shown:
                self.hour_installs[(category, series, first_hour + h)] = installs
        for category, h, installs in _canonical(self.run(q.anomaly_total_installs(self._range, first_hour, hours))):
            total = anomalies.ALL_ERRORS if category == "error" else anomalies.ALL_EVENTS
            self.hour_installs[(category, total, first_hour + h)] = installs
        counts = [row[:5] for row in counts]
        with contextlib.closing(duckdb.connect(config={"threads": 1})) as con:  # one thread: the same float sums
            columns = list(zip(*counts, strict=True)) if counts else [()] * 5
            types = (pa.string(), pa.string(), pa.int64(), pa.int64(), pa.bool_())
            names = ("category", "series", "h", "x", "shown")
            con.register(
                "lake_counts", pa.table({n: pa.array(c, t) for n, c, t in zip(names, columns, types, strict=True)})
            )
            local = Scope(self.filter, self.since_ns, self.until_ns, self.first_ns, self.end_ns, con)
            sql = f"WITH counts AS (SELECT * FROM lake_counts), {anomalies.ANALYSIS}"  # noqa: S608 (constants)
            found = local.rows(sql, hours=hours, z=z)
        return [(*row[:-1], sorted(row[-1]) if row[-1] is not None else None) for row in sorted(found, key=repr)]

    def _binned(self, first: int, bin_ns: int) -> list[tuple[Any, ...]]:
        found = self._fetch(q.regression_bins(self._range, first, bin_ns, regressions._BINS, self.k),
                            "regression_series")  # fmt: skip
        return [
            (kind, s, unit, half, b, n, lv / q.SCALE, lv2 / q.SCALE) for kind, s, unit, half, b, n, lv, lv2 in found
        ]

    def _by_version(self, kind: str, series: str, unit: str | None) -> list[tuple[Any, ...]]:
        key = q.series_key(kind, series, unit)
        found = self._fetch(q.regression_versions(self._range, key, self.k), "regression_versions")
        rows = [(version, n, s / q.SCALE / n, first) for version, n, s, first in found]
        return sorted(rows, key=lambda r: (r[3], r[0]))

    def _quantiles(self, kind: str, series: str, unit: str | None, change: int) -> list[tuple[Any, ...]]:
        assert self.run is not None
        key = q.series_key(kind, series, unit)
        values: dict[bool, dict[int, float]] = {}
        sizes: dict[bool, int] = {}
        for after, n, rn, v in _canonical(self.run(q.regression_quantiles(self._range, key, change))):
            values.setdefault(bool(after), {})[rn] = v
            sizes[bool(after)] = n
        return [(after, sizes[after], [_quantile(values[after], sizes[after], p) for p in (0.5, 0.95)])
                for after in sorted(values)]  # fmt: skip

    def _heatmap(self) -> list[tuple[Any, ...]]:
        assert self.run is not None
        rows_sql, left_out_sql = q.heatmap(self._range, self.k)
        counted = _normalized(self.run(left_out_sql)[0])
        self.suppressed["heatmap_cells"] = int(counted["cells"] or 0)
        self.suppressed["feature_by_version"] = int(counted["features"] or 0)
        return _canonical(self.run(rows_sql))

    def _has_exposures(self) -> list[tuple[Any, ...]]:
        assert self.run is not None
        return [tuple(_normalized(row).values()) for row in self.run(q.has_exposures(self._range))]

    def _units(self) -> list[tuple[Any, ...]]:
        rows_sql, left_out_sql = q.experiment_arms(self._range, self.k)
        before = self.suppressed.get("experiment_arms", 0)
        found = self._fetch((rows_sql, left_out_sql), "experiment_arms")
        if self.suppressed["experiment_arms"] > before:
            assert self.run is not None  # which experiments lost an arm
            small = q.experiment_small_arms(self._range, self.k)
            self.arms.update({e: int(n) for e, n in _canonical(self.run(small))})
        return [(e, v, n, _rounded_json(vs), _rounded_json(ws)) for e, v, n, vs, ws in found]

    def _outcomes(self) -> list[tuple[Any, ...]]:
        found = self._fetch(q.experiment_outcomes(self._range, self.k), "experiment_outcomes")
        out = []
        for experiment, category, variant, name, unit, n, sq, sqq in found:
            if category == "event":
                out.append((experiment, category, variant, name, unit, n, None, 0.0))
                continue
            mean = sq / n / q.SCALE
            var = (n * sqq - sq * sq) / (n * (n - 1)) / q.SCALE**2 if n > 1 else 0.0  # exact integers, then float
            out.append((experiment, category, variant, name, unit, n, mean, var))
        return out


_ANSWERS: dict[str, Callable[..., list[tuple[Any, ...]]]] = {
    trends.DAILY: LakeScope._daily,
    anomalies.CANDIDATES: LakeScope._candidates,
    regressions.BINNED: LakeScope._binned,
    regressions.BY_VERSION: LakeScope._by_version,
    regressions.QUANTILES: LakeScope._quantiles,
    heatmap.HEATMAP: LakeScope._heatmap,
    experiments.HAS_EXPOSURES: LakeScope._has_exposures,
    experiments.UNITS: LakeScope._units,
    experiments.OUTCOMES: LakeScope._outcomes,
}


def _quantile(values: dict[int, float], n: int, p: float) -> float:
    """``quantile_cont``: linear interpolation between the sorted samples at (n - 1) * p (1-based rows)."""
    pos = (n - 1) * p
    low = math.floor(pos)
    lo = values[low + 1]
    hi = values.get(low + 2, lo)
    return lo + (hi - lo) * (pos - low)


def _rounded_json(text: str | None) -> str | None:
    """Weights as both engines agree on them (Spark re-prints JSON numbers; 12 digits absorb that)."""
    try:
        value = orjson.loads(text or "null")
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, list):
        value = [round(v, 12) if isinstance(v, float) else v for v in value]
    return orjson.dumps(value).decode()


def fleet_insights(
    lake: Path,
    filters: InsightsFilter | None = None,
    *,
    engine: str = "duckdb",
    min_installs: int = 5,
    spark_master: str | None = None,
) -> InsightsReport:
    """The insights report over the lake at ``lake``, every group of fewer than ``min_installs`` installs left out.

    >>> fleet_insights(Path("/srv/lake"), engine="spark", spark_master="spark://10.0.0.5:7077").suppressed
    {'trends': 0, 'anomaly_series': 2, ...}
    """
    k = _checked_k(min_installs)
    f = filters or InsightsFilter()
    if engine == "duckdb":
        from analytics.fleet.duckdb_engine import read_lake

        return read_lake(Path(lake), lambda db: _report(db.rows, f, k), view=lake_view_sql)
    if engine == "spark":
        from analytics.fleet.spark_engine import SparkLake

        with SparkLake(Path(lake), master=spark_master, view=lake_view_sql) as spark:
            return _report(spark.rows, f, k)
    raise ValueError("engine must be duckdb or spark")


def _report(run: Run, f: InsightsFilter, k: int) -> InsightsReport:
    with contextlib.closing(duckdb.connect()) as spare:
        since, until = f.since_ns, f.until_ns
        totals = _normalized(run(q.range_of_lake(q.where_range(since, until)))[0])
        first, last, installs = totals["first_ns"], totals["last_ns"], int(totals["installs"] or 0)
        fleet_ok = first is not None and installs >= k
        end = None if not fleet_ok else (until if until is not None else last + 1)
        scope = LakeScope(f, since, until, first if fleet_ok else None, end, spare, run=run, k=k)
        if not fleet_ok and first is not None:
            scope.suppressed["fleet"] = 1
        report = InsightsReport(
            trends=trends.compute(scope),
            anomalies=anomalies.compute(scope),
            regressions=regressions.compute(scope),
            heatmap=heatmap.compute(scope),
            experiments=experiments.compute(scope) if fleet_ok else Experiments(),
            min_installs=k,
        )
    report.experiments.items = [_k_anonymous(e, scope.arms.get(e.series, 0), k) for e in report.experiments.items]
    report.anomalies.items = _spikes_of_k(report.anomalies.items, scope, k)
    report.suppressed = dict(sorted(scope.suppressed.items()))
    return report


def _spikes_of_k(items: list[Anomaly], scope: LakeScope, k: int) -> list[Anomaly]:
    """Spikes made by fewer than k installs are left out (counted as ``anomaly_hours``): the hour would point
    at them. A drop is kept: it tells of the many that went quiet, not of the few that remained."""
    if scope.end_ns is None:
        return items
    scope.suppressed.setdefault("anomaly_hours", 0)
    kept = []
    for item in items:
        key = ("error" if item.kind == "error" else "event", item.series, item.window_start_ns // HOUR_NS)
        if item.direction == "spike" and scope.hour_installs.get(key, 0) < k:
            scope.suppressed["anomaly_hours"] = scope.suppressed.get("anomaly_hours", 0) + 1
            continue
        kept.append(item)
    return kept


def _k_anonymous(e: Experiment, arms_left_out: int, k: int) -> Experiment:
    """An experiment with an arm of fewer than k installs: not analysed, and the message says why."""
    small = [v.variant for v in e.variants if v.units < k]
    if not small and not arms_left_out:
        return e
    return Experiment(
        series=e.series, units=sum(v.units for v in e.variants if v.units >= k), variants=[],
        srm_p_value=None, srm_flagged=False, enough_units=False,
        message=(f"Not analysed: arm(s) {', '.join(small) or '(undeclared)'} have fewer than {k} installs "
                 "(k-anonymity, --min-installs); only arms of at least k installs can be shown."),
    )  # fmt: skip
