"""The aggregates the insights need, over the lake: written once in DuckDB SQL that sqlglot turns into Spark SQL.

Each function answers one question of :mod:`analytics.insights` (the same rows, in the same shape, as the
local query it stands for) with every group of fewer than ``k`` installs left out, plus, where groups can be
left out, a statement counting them. Only integers go into the text (a checked ``k``, the range, bins,
hashes as hex): no value from the lake or the caller is ever quoted into SQL.

Both engines must give equal rows, so nothing here sums floating point values (whose sum depends on the
order the engine adds them in): values are rounded to fixed point (``SCALE``, micro-units) and summed as
integers or ``DECIMAL(38, 0)``, which both engines add exactly; the Python side divides.
"""

from __future__ import annotations

from typing import Final

from exporters.eventlog.schema import (
    ATTR_EXPERIMENT_NAME,
    ATTR_EXPERIMENT_VARIANT,
    ATTR_EXPERIMENT_VARIANTS,
    ATTR_EXPERIMENT_WEIGHTS,
    EXPOSURE_EVENT_TYPE,
)

HOUR_NS: Final = 3_600 * 10**9
DAY_NS: Final = 24 * HOUR_NS
SCALE: Final = 1_000_000
_TIME_UNITS: Final = ("ms", "s", "us", "ns", "min", "h")
#: Finite and small enough to scale without overflow; also false for NaN (greater than any number on both
#: engines) and infinities.
_SANE = "{v} > -1e12 AND {v} < 1e12"

#: The columns of the view the insights read (plain names: the deduplication passes them through); the
#: exposure's attributes are kept, every other row's JSON is dropped before the deduplicating shuffle.
#: ``SLIM_SOURCE`` keeps ``day`` for the deduplication's partition predicates.
COLUMNS: Final = (
    "share_id", "install_id", "start_ns", "category", "event_type", "name", "error_type", "metric_name",
    "metric_value", "metric_unit", "duration_ms", "app_version", "attributes",
)  # fmt: skip
SLIM_SOURCE: Final = (
    "(SELECT share_id, received_ns, hub_id, install_id, start_ns, category, event_type, name, error_type, "
    "metric_name, metric_value, metric_unit, duration_ms, app_version, day, "
    f"CASE WHEN event_type = '{EXPOSURE_EVENT_TYPE}' THEN attributes END AS attributes FROM lake_raw) slim"
)

_EVENTS: Final = f"category = 'event' AND (event_type IS NULL OR event_type <> '{EXPOSURE_EVENT_TYPE}')"


def where_range(since_ns: int | None, until_ns: int | None) -> str:
    """The filter's range as SQL (integers only)."""
    parts = ["start_ns IS NOT NULL"]
    if since_ns is not None:
        parts.append(f"start_ns >= {int(since_ns)}")
    if until_ns is not None:
        parts.append(f"start_ns < {int(until_ns)}")
    return " AND ".join(parts)


def range_of_lake(rng: str) -> str:
    return f"SELECT min(start_ns) AS first_ns, max(start_ns) AS last_ns, count(DISTINCT install_id) AS installs FROM lake_spans WHERE {rng}"  # noqa: E501


def _split(groups: str, rows: str, k: int) -> tuple[str, str]:
    """(rows of groups with >= k installs, count of the others) over CTEs ``groups`` that define ``g``."""
    return (
        f"WITH {groups} {rows.format(k=k)}",
        f"WITH {groups} SELECT count(*) AS suppressed FROM g WHERE installs < {k}",
    )


def trends_daily(rng: str, first: int, k: int) -> tuple[str, str]:
    """(series, day, count) of event types used by >= k installs since ``first``."""
    groups = f"""base AS (
        SELECT coalesce(event_type, '') AS series, (start_ns - {int(first)}) // {DAY_NS} AS day, install_id
        FROM lake_spans WHERE {_EVENTS} AND {rng} AND start_ns >= {int(first)}
    ), g AS (SELECT series, count(DISTINCT install_id) AS installs FROM base GROUP BY series)"""
    rows = """SELECT b.series, b.day, count(*) AS n FROM base b JOIN g ON g.series = b.series
        WHERE g.installs >= {k} GROUP BY b.series, b.day"""
    return _split(groups, rows, k)


def _hourly(rng: str, first_hour: int, hours: int) -> str:
    low, high = int(first_hour) * HOUR_NS, (int(first_hour) + int(hours)) * HOUR_NS
    return f"""base AS (
        SELECT category,
               CASE WHEN category = 'error' THEN coalesce(error_type, 'unknown') ELSE coalesce(event_type, '') END
                   AS series,
               start_ns // {HOUR_NS} - {int(first_hour)} AS h, install_id
        FROM lake_spans
        WHERE category IN ('event', 'error') AND {rng} AND start_ns >= {low} AND start_ns < {high}
    )"""


def anomaly_counts(rng: str, first_hour: int, hours: int, k: int) -> tuple[str, str]:
    """Hourly counts per series (category, series, h, x, shown, installs that hour): a series of fewer than k
    installs comes as one nameless series per category with ``shown`` false (it counts in the totals only)."""
    groups = f"""{_hourly(rng, first_hour, hours)}, g AS (
        SELECT category, series, count(DISTINCT install_id) AS installs FROM base GROUP BY category, series
    )"""
    rows = """SELECT b.category, CASE WHEN g.installs >= {k} THEN b.series END AS series, b.h, count(*) AS x,
               g.installs >= {k} AS shown, count(DISTINCT b.install_id) AS hour_installs
        FROM base b JOIN g ON g.category = b.category AND g.series = b.series
        GROUP BY b.category, CASE WHEN g.installs >= {k} THEN b.series END, b.h, g.installs >= {k}"""
    return _split(groups, rows, k)


def anomaly_total_installs(rng: str, first_hour: int, hours: int) -> str:
    """(category, h, installs): who the ``(all events)`` / ``(all errors)`` series are made of, hour by hour."""
    return f"""WITH {_hourly(rng, first_hour, hours)}
        SELECT category, h, count(DISTINCT install_id) AS installs FROM base GROUP BY category, h"""


#: The duration series of the regressions, as the local ``_SERIES`` defines them, with the install, the
#: version and the random half (a hex digit of the span's md5 ``share_id``: the same on both engines).
_SERIES: Final = f"""series_rows AS (
    SELECT kind, series, unit, v, start_ns, install_id, coalesce(app_version, 'unknown') AS version,
           CASE WHEN substr(share_id, 32, 1) < '8' THEN 0 ELSE 1 END AS half,
           CAST(round(ln(v) * {SCALE}) AS BIGINT) AS lv
    FROM (
        SELECT CASE WHEN category = 'performance' THEN 'performance' ELSE category END AS kind,
               CASE WHEN category = 'performance' THEN coalesce(metric_name, '')
                    ELSE coalesce(event_type, name, '') END AS series,
               CASE WHEN category = 'performance' THEN metric_unit ELSE 'ms' END AS unit,
               CASE WHEN category = 'performance' THEN metric_value ELSE duration_ms END AS v,
               start_ns, install_id, app_version, share_id
        FROM lake_spans
        WHERE {{rng}} AND (category IN ('span', 'http')
                          OR (category = 'performance' AND metric_unit IN {_TIME_UNITS!r}))
    ) s
    WHERE v > 0 AND {_SANE.format(v="v")}
)"""

#: The series key in SQL, the same text :func:`series_key` hashes in Python.
_KEY: Final = "md5(concat(kind, '|', series, '|', coalesce(unit, '')))"


def series_key(kind: str, series: str, unit: str | None) -> str:
    import hashlib

    return hashlib.md5(f"{kind}|{series}|{unit or ''}".encode(), usedforsecurity=False).hexdigest()


def regression_bins(rng: str, first: int, bin_ns: int, bins: int, k: int) -> tuple[str, str]:
    """(kind, series, unit, half, bin, n, sum of ln v, sum of ln^2 v) of series of >= k installs (sums x SCALE)."""
    groups = f"""{_SERIES.format(rng=rng)}, g AS (
        SELECT kind, series, unit, count(DISTINCT install_id) AS installs FROM series_rows GROUP BY kind, series, unit
    )"""
    rows = f"""SELECT r.kind, r.series, r.unit, r.half,
               CAST(least((r.start_ns - {int(first)}) // {int(bin_ns)}, {int(bins) - 1}) AS INTEGER) AS bin,
               count(*) AS n, sum(r.lv) AS s,
               sum(CAST(round(ln(r.v) * ln(r.v) * {SCALE}) AS BIGINT)) AS ss
        FROM series_rows r JOIN g ON g.kind = r.kind AND g.series = r.series AND g.unit IS NOT DISTINCT FROM r.unit
        WHERE g.installs >= {{k}}
        GROUP BY r.kind, r.series, r.unit, r.half,
                 CAST(least((r.start_ns - {int(first)}) // {int(bin_ns)}, {int(bins) - 1}) AS INTEGER)"""
    return _split(groups, rows, k)


def regression_versions(rng: str, key: str, k: int) -> tuple[str, str]:
    """(version, n, sum of ln v x SCALE, first start) of one series' versions used by >= k installs."""
    _hex(key)
    groups = f"""{_SERIES.format(rng=rng)}, g AS (
        SELECT version, count(*) AS n, sum(lv) AS s, min(start_ns) AS first_ns,
               count(DISTINCT install_id) AS installs
        FROM series_rows WHERE {_KEY} = '{key}' GROUP BY version
    )"""
    return _split(groups, "SELECT version, n, s, first_ns FROM g WHERE installs >= {k}", k)


def regression_quantiles(rng: str, key: str, change_ns: int) -> str:
    """The sorted samples around the 50% and 95% positions before and after ``change_ns`` (Python interpolates
    as ``quantile_cont`` does; an exact percentile is the same on both engines)."""
    _hex(key)
    positions = ", ".join(f"CAST(floor((n - 1) * {q}) AS BIGINT) + {step}" for q in (0.5, 0.95) for step in (1, 2))
    return f"""WITH {_SERIES.format(rng=rng)}, o AS (
        SELECT start_ns >= {int(change_ns)} AS after, v,
               row_number() OVER (PARTITION BY start_ns >= {int(change_ns)} ORDER BY v) AS rn,
               count(*) OVER (PARTITION BY start_ns >= {int(change_ns)}) AS n
        FROM series_rows WHERE {_KEY} = '{key}'
    )
    SELECT after, n, rn, v FROM o WHERE rn IN ({positions})"""


def heatmap(rng: str, k: int) -> tuple[str, str]:
    """Hour-of-week cells and (feature, version) cells of >= k installs; the count of left-out ones by kind."""
    groups = f"""base AS (
        SELECT ((start_ns // {DAY_NS}) + 3) % 7 AS dow, (start_ns // {HOUR_NS}) % 24 AS hour,
               coalesce(event_type, '') AS feature, coalesce(app_version, 'unknown') AS version, start_ns, install_id
        FROM lake_spans WHERE {_EVENTS} AND {rng}
    ), g AS (
        SELECT dow, hour, feature, version, count(*) AS n, min(start_ns) AS first_ns,
               count(DISTINCT install_id) AS installs
        FROM base GROUP BY GROUPING SETS ((dow, hour), (feature, version))
    )"""
    rows = f"WITH {groups} SELECT dow, hour, feature, version, n, first_ns FROM g WHERE installs >= {k}"
    left_out = (
        f"WITH {groups} SELECT sum(CASE WHEN feature IS NULL THEN 1 ELSE 0 END) AS cells, "
        f"sum(CASE WHEN feature IS NULL THEN 0 ELSE 1 END) AS features FROM g WHERE installs < {k}"
    )
    return rows, left_out


def _json(path_key: str, as_text: bool = True) -> str:
    fn = "json_extract_string" if as_text else "json_extract"
    return f"""{fn}(attributes, '$."{path_key}"')"""


#: Every exposure, and each install's first one per experiment (its variant: assignment is by install).
_EXPOSURES: Final = f"""ex AS (
    SELECT install_id, start_ns, {_json(ATTR_EXPERIMENT_NAME)} AS experiment,
           {_json(ATTR_EXPERIMENT_VARIANT)} AS variant,
           CAST({_json(ATTR_EXPERIMENT_VARIANTS, False)} AS VARCHAR) AS variants,
           CAST({_json(ATTR_EXPERIMENT_WEIGHTS, False)} AS VARCHAR) AS weights
    FROM lake_spans
    WHERE category = 'event' AND event_type = '{EXPOSURE_EVENT_TYPE}' AND {{rng}} AND install_id IS NOT NULL
), first_exposure AS (
    SELECT experiment, install_id, min(start_ns) AS first_ns, min_by(variant, start_ns) AS variant
    FROM ex WHERE experiment IS NOT NULL AND variant IS NOT NULL GROUP BY experiment, install_id
)"""


def has_exposures(rng: str) -> str:
    return f"SELECT count(*) AS n FROM lake_spans WHERE category = 'event' AND event_type = '{EXPOSURE_EVENT_TYPE}' AND {rng}"  # noqa: E501


def experiment_arms(rng: str, k: int) -> tuple[str, str]:
    """(experiment, variant, installs, variants JSON, weights JSON) of arms of >= k installs."""
    groups = f"""{_EXPOSURES.format(rng=rng)}, design AS (
        SELECT experiment, max_by(variants, start_ns) AS variants, max_by(weights, start_ns) AS weights
        FROM ex WHERE experiment IS NOT NULL GROUP BY experiment
    ), g AS (
        SELECT f.experiment, f.variant, count(*) AS installs, max(d.variants) AS variants, max(d.weights) AS weights
        FROM first_exposure f JOIN design d ON d.experiment = f.experiment GROUP BY f.experiment, f.variant
    )"""
    rows = "SELECT experiment, variant, installs, variants, weights FROM g WHERE installs >= {k}"
    return _split(groups, rows, k)


def experiment_small_arms(rng: str, k: int) -> str:
    """(experiment, arms of fewer than k installs): names which experiments cannot be analysed, no counts."""
    groups = experiment_arms(rng, k)[1].rsplit(" SELECT count(*)", 1)[0]
    return f"{groups} SELECT experiment, count(*) AS arms FROM g WHERE installs < {k} GROUP BY experiment"


def experiment_outcomes(rng: str, k: int) -> tuple[str, str]:
    """Per (experiment, category, variant, goal or metric, unit): installs, and for metrics the sum and sum of
    squares of each install's mean (x SCALE, rounded); goals and metrics reached by fewer than k installs
    in the whole experiment are left out."""
    sane = _SANE.format(v="e.metric_value")
    groups = f"""{_EXPOSURES.format(rng=rng)}, per_unit AS (
        SELECT u.experiment, u.variant, u.install_id, e.category,
               CASE WHEN e.category = 'event' THEN coalesce(e.event_type, '') ELSE coalesce(e.metric_name, '') END
                   AS name,
               CASE WHEN e.category = 'event' THEN NULL ELSE e.metric_unit END AS unit_of_measure,
               sum(CASE WHEN {sane} THEN CAST(round(e.metric_value * {SCALE}) AS DECIMAL(38, 0)) END) AS s,
               count(CASE WHEN {sane} THEN 1 END) AS m
        FROM lake_spans e JOIN first_exposure u ON u.install_id = e.install_id
        WHERE e.category IN ('event', 'performance') AND e.start_ns >= u.first_ns
          AND {rng.replace("start_ns", "e.start_ns")}
          AND (e.category = 'performance' OR e.event_type <> '{EXPOSURE_EVENT_TYPE}')
        GROUP BY u.experiment, u.variant, u.install_id, e.category,
                 CASE WHEN e.category = 'event' THEN coalesce(e.event_type, '') ELSE coalesce(e.metric_name, '') END,
                 CASE WHEN e.category = 'event' THEN NULL ELSE e.metric_unit END
    ), means AS (
        SELECT *, CASE WHEN m > 0 THEN CAST(round(CAST(s AS DOUBLE) / m) AS DECIMAL(38, 0)) END AS q
        FROM per_unit WHERE category = 'event' OR m > 0
    ), arms AS (
        SELECT experiment, category, variant, name, unit_of_measure, count(*) AS n, sum(q) AS sq, sum(q * q) AS sqq
        FROM means GROUP BY experiment, category, variant, name, unit_of_measure
    ), g AS (
        SELECT *, sum(n) OVER (PARTITION BY experiment, category, name, unit_of_measure) AS installs FROM arms
    )"""
    rows = "SELECT experiment, category, variant, name, unit_of_measure, n, sq, sqq FROM g WHERE installs >= {k}"
    left_out = f"""WITH {groups} SELECT count(DISTINCT concat(experiment, '|', category, '|', name, '|',
        coalesce(unit_of_measure, ''))) AS suppressed FROM g WHERE installs < {k}"""
    return f"WITH {groups} {rows.format(k=k)}", left_out


def _hex(key: str) -> None:
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError("series key must be an md5 hex digest")
