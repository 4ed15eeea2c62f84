"""The fleet reports, written once as SQL, and the k-anonymity rule they all apply.

Each section is one ``SELECT`` over ``lake_spans`` with ``{k}`` where the minimum number of installs goes;
a section that groups keeps only groups with ``count(DISTINCT install_id) >= {k}``, and the report also
says how many groups were left out. Rows without an install (senders that are not installs) count toward
no group's installs, so on their own they never show. Averages are rounded to 6 decimals so that both
engines' floating point sums print the same.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from exporters.lake.schema import NOTHING_COMPACTED, CompactedDays, deduped_sql

DEFAULT_MIN_INSTALLS: Final = 5
#: The columns of ``lake_spans`` the reports read (the engines deduplicate only these).
VIEW_COLUMNS: Final = (
    "install_id", "session_id", "start_ns", "category", "event_type", "error_type", "metric_name",
    "metric_value", "metric_unit", "app_version", "os_type", "day",
)  # fmt: skip

#: The columns of ``lake_metrics`` (one row per shared metric point, lake schema 2) the reports read.
METRICS_VIEW_COLUMNS: Final = (
    "install_id", "name", "unit", "kind", "time_ns", "value", "count", "sum", "min", "max", "day",
)  # fmt: skip

Runner = Callable[[str], list[dict[str, Any]]]
#: A view's SQL over its raw rows, given the days the engine's listing found compacted (e.g. :func:`view_sql`).
ViewSql = Callable[[CompactedDays], str]

# Grouped sections: (select list, group by, order by). Each yields only groups with >= k installs.
_GROUPED: Final[dict[str, tuple[str, str, str, str]]] = {
    "event_breakdown": (
        "event_type, category, count(*) AS events, count(DISTINCT install_id) AS installs",
        "event_type, category",
        "events DESC, event_type, category",
        "",
    ),
    "errors_by_type": (
        "error_type, count(*) AS errors, count(DISTINCT install_id) AS installs",
        "error_type",
        "errors DESC, error_type",
        "WHERE category = 'error'",
    ),
    "performance": (
        "metric_name, metric_unit, count(*) AS samples, round(avg(metric_value), 6) AS mean, "
        "min(metric_value) AS min, max(metric_value) AS max, count(DISTINCT install_id) AS installs",
        "metric_name, metric_unit",
        "samples DESC, metric_name, metric_unit",
        "WHERE metric_name IS NOT NULL AND metric_value IS NOT NULL",
    ),
    "versions": (
        "app_version, count(DISTINCT install_id) AS installs, count(*) AS events",
        "app_version",
        "installs DESC, app_version",
        "",
    ),
    "os_mix": (
        "os_type, count(DISTINCT install_id) AS installs, count(*) AS events",
        "os_type",
        "installs DESC, os_type",
        "",
    ),
    "daily_installs": (
        "day, count(DISTINCT install_id) AS installs, count(*) AS events",
        "day",
        "day",
        "",
    ),
    # Over lake_metrics. A gauge or sum point adds its value; a histogram point adds its sum and count (so
    # the mean is per measurement, not per point) and its own min and max.
    "metrics": (
        'name, unit, count(*) AS points, round(sum(coalesce(value, "sum")), 6) AS total, '
        'round(sum(coalesce(value, "sum")) / sum(CASE WHEN value IS NULL THEN "count" ELSE 1 END), 6) AS mean, '
        'min(coalesce(value, "min")) AS min, max(coalesce(value, "max")) AS max, '
        "count(DISTINCT install_id) AS installs",
        "name, unit",
        "points DESC, name, unit",
        'WHERE coalesce(value, "sum") IS NOT NULL',
    ),
}
#: Sections that read the metric points rather than the spans.
_METRIC_SECTIONS: Final = frozenset({"metrics"})

_TOTALS: Final = (
    "SELECT count(*) AS events, count(DISTINCT install_id) AS installs, count(DISTINCT session_id) AS sessions, "
    "sum(CASE WHEN category = 'error' THEN 1 ELSE 0 END) AS errors, min(start_ns) AS first_ns, "
    "max(start_ns) AS last_ns FROM lake_spans"
)

#: Report name -> its sections; ``totals`` is the whole fleet as one group (shown only with >= k installs).
FLEET_REPORTS: Final[dict[str, tuple[str, ...]]] = {
    "summary": ("totals", "event_breakdown", "errors_by_type", "performance"),
    "fleet": ("totals", "versions", "os_mix", "daily_installs"),
    "events": ("event_breakdown",),
    "errors": ("errors_by_type",),
    "performance": ("performance",),
    "metrics": ("metrics",),
}


def section_sql(name: str, min_installs: int) -> tuple[str, str | None]:
    """(the rows' SQL, the SQL counting suppressed groups or None) of one section, in DuckDB's dialect."""
    k = _checked_k(min_installs)
    if name == "totals":
        return f"SELECT * FROM ({_TOTALS}) t WHERE installs >= {k}", None  # noqa: S608 (constants of this module and a checked int)
    select, group, order, where = _GROUPED[name]
    source = "lake_metrics" if name in _METRIC_SECTIONS else "lake_spans"
    grouped = f"SELECT {select} FROM {source} {where} GROUP BY {group}"  # noqa: S608 (constants of this module and a checked int)
    rows = f"SELECT * FROM ({grouped}) g WHERE installs >= {k} ORDER BY {order}"  # noqa: S608 (constants of this module and a checked int)
    suppressed = f"SELECT count(*) AS suppressed FROM ({grouped}) g WHERE installs < {k}"  # noqa: S608 (constants of this module and a checked int)
    return rows, suppressed


def view_sql(compacted: CompactedDays = NOTHING_COMPACTED) -> str:
    """The ``lake_spans`` view over ``lake_raw`` (the raw files): one row per ``share_id``, report columns
    (``compacted``: the days the engine's listing says are deduplicated already)."""
    return deduped_sql("lake_raw", ", ".join(VIEW_COLUMNS), compacted)


def metrics_view_sql(compacted: CompactedDays = NOTHING_COMPACTED) -> str:
    """The ``lake_metrics`` view over ``lake_metrics_raw``: one row per metric point ``share_id``, report columns."""
    return deduped_sql("lake_metrics_raw", ", ".join(f'"{c}"' for c in METRICS_VIEW_COLUMNS), compacted)


def report_sql(report: str, min_installs: int) -> dict[str, tuple[str, str | None]]:
    """Every statement a report runs, by section (DuckDB dialect; the Spark engine transpiles them)."""
    return {name: section_sql(name, min_installs) for name in FLEET_REPORTS[report]}


def compute(run: Runner, report: str, min_installs: int) -> dict[str, Any]:
    """Run a report's statements through ``run`` (one engine's ``SQL -> rows``) and shape the answer."""
    out: dict[str, Any] = {"report": report, "min_installs": min_installs}
    suppressed: dict[str, int] = {}
    for name, (rows_sql, suppressed_sql) in report_sql(report, min_installs).items():
        rows = [_normalized(row) for row in run(rows_sql)]
        if name == "totals":
            out[name] = rows[0] if rows else None
            if not rows:
                suppressed[name] = 1
            continue
        out[name] = rows
        if suppressed_sql is not None:
            counted = run(suppressed_sql)
            suppressed[name] = int(counted[0]["suppressed"]) if counted else 0
    out["suppressed"] = suppressed
    return out


def run_fleet_report(
    lake: Path,
    report: str,
    *,
    engine: str = "duckdb",
    min_installs: int = DEFAULT_MIN_INSTALLS,
    spark_master: str | None = None,
) -> dict[str, Any]:
    """One report over the lake at ``lake`` on ``engine`` (``duckdb`` or ``spark``)."""
    if report not in FLEET_REPORTS:
        raise ValueError(f"unknown fleet report {report!r}; choose from {', '.join(sorted(FLEET_REPORTS))}")
    _checked_k(min_installs)
    if engine == "duckdb":
        from analytics.fleet.duckdb_engine import read_lake

        return read_lake(lake, lambda lake_db: compute(lake_db.rows, report, min_installs))
    if engine == "spark":
        from analytics.fleet.spark_engine import SparkLake

        with SparkLake(lake, master=spark_master) as lake_spark:
            return compute(lake_spark.rows, report, min_installs)
    raise ValueError("engine must be duckdb or spark")


def _checked_k(min_installs: int) -> int:
    if isinstance(min_installs, bool) or not isinstance(min_installs, int) or min_installs < 1:
        raise ValueError("min_installs must be an integer >= 1")
    return min_installs


def _normalized(row: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values, the same from both engines (DuckDB's HUGEINT sums, Spark's Decimals)."""
    return {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "__index__"):
        return int(value)
    if hasattr(value, "__float__"):
        return float(value)
    return str(value)
