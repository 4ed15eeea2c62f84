"""A/B experiments: exposures, conversion to goal events and metric means per variant, and a sample-ratio
check, over every install (unit) the event log holds.

``telemetry.experiment()`` records an ``experiment_exposure`` event per session with the experiment, the
variant, every variant with its weight, and the unit (the install's anonymous id). A unit's variant is the
one of its first exposure; its events count from that moment on, in the sessions where it was exposed
(the exposure names the session, so a log holding many installs attributes every event to its unit).
Per variant, against the first (control) variant:

* conversion: units with the goal event after exposure / units; 95% Wilson interval; two-proportion z-test
  and a 95% interval of the difference;
* metric: each unit's mean of a ``track_performance`` metric, averaged over units; 95% t interval; Welch's
  t-test and interval of the difference (units, not events, are independent: a heavy user counts once);
* sample-ratio mismatch: chi-square of units per variant against the recorded weights, flagged at
  p < 0.01 (a broken split invalidates the comparison, whatever it shows).

A local log holds one install, hence one unit and one variant: the result says so instead of comparing.
"""

from __future__ import annotations

import math
from typing import Any, Final

import orjson

from analytics.insights import _stats
from analytics.insights._scope import EXPOSURE_EVENT, RANGE, Scope
from analytics.insights.models import (
    Experiment,
    Experiments,
    GoalResult,
    MetricResult,
    VariantExposure,
    VariantMean,
    VariantRate,
)
from exporters.eventlog.schema import (
    ATTR_EXPERIMENT_NAME,
    ATTR_EXPERIMENT_UNIT,
    ATTR_EXPERIMENT_VARIANT,
    ATTR_EXPERIMENT_VARIANTS,
    ATTR_EXPERIMENT_WEIGHTS,
    SPANS,
)

MIN_UNITS_PER_VARIANT: Final = 30
SRM_ALPHA: Final = 0.01
_TOP_GOALS: Final = 5
_TOP_METRICS: Final = 3

_EXPOSURES: Final = f"""
ex AS MATERIALIZED (
    SELECT session_id, start_ns,
           json_extract_string(attributes, ['$."{ATTR_EXPERIMENT_NAME}"', '$."{ATTR_EXPERIMENT_VARIANT}"',
                                            '$."{ATTR_EXPERIMENT_UNIT}"']) AS j,
           json_extract(attributes, '$."{ATTR_EXPERIMENT_VARIANTS}"') AS variants,
           json_extract(attributes, '$."{ATTR_EXPERIMENT_WEIGHTS}"') AS weights
    FROM {SPANS} WHERE category = 'event' AND event_type = '{EXPOSURE_EVENT}' AND {RANGE}
), first AS (
    SELECT j[1] AS experiment, coalesce(j[3], session_id) AS unit, min(start_ns) AS first_ns,
           arg_min(j[2], start_ns) AS variant
    FROM ex WHERE j[1] IS NOT NULL AND j[2] IS NOT NULL GROUP BY ALL
), sess AS (
    SELECT DISTINCT j[1] AS experiment, coalesce(j[3], session_id) AS unit, session_id
    FROM ex WHERE j[1] IS NOT NULL AND session_id IS NOT NULL
)"""

HAS_EXPOSURES: Final = (
    f"SELECT count(*) FROM {SPANS} WHERE category = 'event' AND event_type = '{EXPOSURE_EVENT}' AND {RANGE}"
)

#: Units per (experiment, variant), and the newest variants/weights each experiment recorded.
UNITS: Final = f"""
WITH {_EXPOSURES}, design AS (
    SELECT j[1] AS experiment, arg_max(variants, start_ns)::VARCHAR AS variants,
           arg_max(weights, start_ns)::VARCHAR AS weights
    FROM ex WHERE j[1] IS NOT NULL GROUP BY ALL
)
SELECT experiment, variant, count(*), any_value(design.variants), any_value(design.weights)
FROM first JOIN design USING (experiment)
GROUP BY ALL ORDER BY experiment, variant
"""

#: Goals and metrics in one pass over the spans: per unit, every event type it reached after its first
#: exposure (count = units converted) and its mean of every metric; then per variant. Event rows carry
#: the event type in ``name`` and no unit of measure; metric rows the metric name and its unit.
#: The per-unit groups are keyed by integers (a unit number and a 64-bit hash of what was measured),
#: which DuckDB groups faster than the strings themselves (bench/README.md); a hash collision between two
#: names of one unit (odds ~1e-17) would merge them.
OUTCOMES: Final = f"""
WITH {_EXPOSURES}, units AS MATERIALIZED (
    SELECT *, row_number() OVER (ORDER BY experiment, unit) AS uid FROM first
), exposed AS (
    SELECT s.session_id, u.uid, u.first_ns
    FROM sess s JOIN units u ON u.experiment = s.experiment AND u.unit = s.unit
), per_unit AS (
    SELECT x.uid, hash(e.category, e.event_type, e.metric_name, e.metric_unit) AS measured,
           any_value(e.category) AS category, any_value(e.event_type) AS event_type,
           any_value(e.metric_name) AS metric_name, any_value(e.metric_unit) AS metric_unit,
           avg(e.metric_value) FILTER (WHERE isfinite(e.metric_value)) AS m
    FROM {SPANS} e JOIN exposed x USING (session_id)
    WHERE e.category IN ('event', 'performance') AND e.start_ns >= x.first_ns
      AND ($since IS NULL OR e.start_ns >= $since) AND ($until IS NULL OR e.start_ns < $until)
      AND (e.category = 'performance' OR e.event_type <> '{EXPOSURE_EVENT}')
    GROUP BY x.uid, measured
)
SELECT u.experiment, p.category, u.variant,
       CASE p.category WHEN 'event' THEN coalesce(p.event_type, '') ELSE coalesce(p.metric_name, '') END AS name,
       CASE p.category WHEN 'event' THEN NULL ELSE p.metric_unit END AS unit_of_measure,
       count(*), avg(p.m), coalesce(var_samp(p.m), 0)
FROM per_unit p JOIN units u USING (uid)
WHERE p.category = 'event' OR p.m IS NOT NULL
GROUP BY ALL
"""

METHOD: Final = (
    "Unit = install (anonymous id); variant = its first exposure; events counted after it. Conversion: "
    "two-proportion z-test, Wilson 95% intervals. Metric: per-unit means, Welch t-test and interval. "
    f"SRM: chi-square against the recorded weights, flagged at p < {SRM_ALPHA}. Results need at least "
    f"{MIN_UNITS_PER_VARIANT} units per variant."
)


def compute(scope: Scope) -> Experiments:
    out = Experiments(min_units_per_variant=MIN_UNITS_PER_VARIANT, method=METHOD)
    if not scope.rows(HAS_EXPOSURES)[0][0]:
        return out
    designs: dict[str, tuple[list[str], list[float]]] = {}
    units: dict[str, dict[str, int]] = {}
    for name, variant, n, variants_json, weights_json in scope.rows(UNITS):
        units.setdefault(name, {})[variant] = n
        designs.setdefault(name, _design(variants_json, weights_json))
    wanted_goals = set(scope.filter.goals or ())
    wanted_metrics = set(scope.filter.metrics or ())
    goal_rows, metric_rows = [], []
    for experiment, category, variant, name, unit, n, mean, var in scope.rows(OUTCOMES):
        if category == "event" and (not wanted_goals or name in wanted_goals):
            goal_rows.append((experiment, variant, name, n))
        elif category == "performance" and (not wanted_metrics or name in wanted_metrics):
            metric_rows.append((experiment, variant, name, unit, n, mean, var))
    goals = _by_experiment(goal_rows)
    metrics = _by_experiment(metric_rows)
    for name in sorted(units):
        asked = bool(scope.filter.goals)
        out.items.append(
            _experiment(name, units[name], designs[name], goals.get(name, []), metrics.get(name, []), asked)
        )
    return out


def _by_experiment(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def _design(variants_json: str | None, weights_json: str | None) -> tuple[list[str], list[float]]:
    try:
        variants = [str(v) for v in orjson.loads(variants_json or "null") or []]
        weights = [float(w) for w in orjson.loads(weights_json or "null") or []]
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return [], []
    if len(weights) != len(variants) or not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        weights = [1.0] * len(variants)
    total = sum(weights)
    return variants, [w / total for w in weights]


def _experiment(
    name: str,
    units: dict[str, int],
    design: tuple[list[str], list[float]],
    goals: list[tuple[Any, ...]],
    metrics: list[tuple[Any, ...]],
    asked: bool,
) -> Experiment:
    variants, weights = design
    shares = dict(zip(variants, weights, strict=True))
    order = variants + sorted(v for v in units if v not in shares)
    if any(v not in shares for v in order):  # a variant outside the recorded design: judge against equal shares
        shares = {v: 1 / len(order) for v in order}
    total = sum(units.values())
    exposures = [
        VariantExposure(variant=v, units=units.get(v, 0), expected_share=round(shares[v], 6),
                        observed_share=round(units.get(v, 0) / total, 6) if total else 0.0)
        for v in order
    ]  # fmt: skip
    srm_p = _stats.chi_square_gof([e.units for e in exposures], [shares[v] for v in order]) if len(order) > 1 else None
    srm = srm_p is not None and srm_p < SRM_ALPHA
    enough = len(order) > 1 and all(e.units >= MIN_UNITS_PER_VARIANT for e in exposures)
    result = Experiment(
        series=name, units=total, variants=exposures, srm_p_value=srm_p, srm_flagged=srm, enough_units=enough,
        message=_message(total, exposures, srm, srm_p, enough),
    )  # fmt: skip
    control = order[0]
    converted: dict[str, dict[str, int]] = {}
    for variant, goal, n in goals:
        converted.setdefault(goal, {})[variant] = n

    # Goals that separate units come first: ranked by how far the pooled conversion is from 0% and 100%
    # (never by the variants' difference, which would pick the luckiest comparison).
    def spread(goal: str) -> float:
        pooled = sum(converted[goal].values()) / total if total else 0.0
        return min(pooled, 1 - pooled)

    # Unless asked for, a goal every unit (or none) reached has nothing to compare.
    candidates = [g for g in converted if asked or spread(g) > 0]
    ranked_goals = sorted(candidates, key=lambda g: (-spread(g), g))[:_TOP_GOALS]
    for goal in ranked_goals:
        result.goals.append(GoalResult(goal=goal, variants=_rates(order, control, units, converted[goal])))
    means: dict[tuple[str, str | None], dict[str, tuple[int, float, float]]] = {}
    for variant, metric, unit, n, mean, var in metrics:
        means.setdefault((metric, unit), {})[variant] = (n, mean, var)
    ranked = sorted(means, key=lambda k: (-sum(v[0] for v in means[k].values()), k[0]))[:_TOP_METRICS]
    for metric, unit in ranked:
        result.metrics.append(
            MetricResult(metric=metric, unit=unit, variants=_means(order, control, means[(metric, unit)]))
        )
    return result


def _message(total: int, exposures: list[VariantExposure], srm: bool, srm_p: float | None, enough: bool) -> str:
    if total == 1:
        return (
            "One unit (install) only: a local event log holds one variant. Run the analysis on a log holding "
            "many installs to compare variants."
        )
    if srm:
        return (
            f"Sample ratio mismatch (chi-square p = {srm_p:.2g} < {SRM_ALPHA}): the split differs from the "
            "weights, so assignment or recording is broken. Do not read the results until it is fixed."
        )
    if not enough:
        few = ", ".join(f"{e.variant}: {e.units}" for e in exposures if e.units < MIN_UNITS_PER_VARIANT)
        return f"Too few units to compare (need {MIN_UNITS_PER_VARIANT} per variant; {few}). Results are not reliable."
    return (
        f"{total} units; the split matches the weights. Compare each variant with the control ({exposures[0].variant})."
    )


def _rates(order: list[str], control: str, units: dict[str, int], converted: dict[str, int]) -> list[VariantRate]:
    n0, k0 = units.get(control, 0), converted.get(control, 0)
    rates = []
    for v in order:
        n, k = units.get(v, 0), converted.get(v, 0)
        low, high = _stats.wilson(k, n)
        test = None if v == control else _stats.two_proportions(k0, n0, k, n)
        rate = k / n if n else 0.0
        base = k0 / n0 if n0 else 0.0
        rates.append(
            VariantRate(
                variant=v, units=n, conversions=k, rate=rate, ci_low=low, ci_high=high,
                lift=None if v == control or base == 0 else rate / base - 1,
                diff=None if test is None else test.diff, diff_ci_low=None if test is None else test.low,
                diff_ci_high=None if test is None else test.high, p_value=None if test is None else test.p_value,
            )
        )  # fmt: skip
    return rates


def _means(order: list[str], control: str, stats: dict[str, tuple[int, float, float]]) -> list[VariantMean]:
    n0, m0, v0 = stats.get(control, (0, 0.0, 0.0))
    out = []
    for v in order:
        n, m, var = stats.get(v, (0, 0.0, 0.0))
        half = _stats.t_ppf_975(n - 1) * math.sqrt(var / n) if n > 1 else None
        test = None if v == control else _stats.welch(m0, v0, n0, m, var, n)
        out.append(
            VariantMean(
                variant=v, units=n, mean=m, ci_low=None if half is None else m - half,
                ci_high=None if half is None else m + half,
                diff=None if test is None else test.diff, diff_ci_low=None if test is None else test.low,
                diff_ci_high=None if test is None else test.high, p_value=None if test is None else test.p_value,
            )
        )  # fmt: skip
    return out
