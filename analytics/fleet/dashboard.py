"""The dashboard's report over the lake: the same questions, the same SQL, and k-anonymity on every group.

The local dashboard's statements (:mod:`analytics.queries`) read a table named ``spans``. Here that table
is the selection of the lake (the filter applied, one row per ``share_id``, ``install_id`` beside the
columns the statements read), materialized once per report from one listing of the lake's files: every
number of a report comes from the same files, even while hubs publish, compact or delete (a file replaced
between the listing and the read restarts the report). The statements then run unchanged, through the
same functions as the local report (:mod:`analytics._compute`).

k-anonymity: each section's groups (event types, error types, metrics, time buckets, histogram bins, API
routes, redaction rules, the sessions figure) are counted by distinct installs with the section's own
grouping key; a group of fewer than ``min_installs`` installs is left out of the answer and counted in
``suppressed`` (empty time buckets and histogram bins are left out too, so a gap never tells "few" from
"none"). Rows without an install count toward no group. A selection of fewer than ``min_installs``
installs gets an empty report. The newest error message (one install's text) and the "system" card (one
install's machine) are never shown; the fleet view has the OS and version mix.

Example::

    report = fleet_analytics(Path("/srv/lake"), AnalyticsFilter(event_types=["model_loaded"]), min_installs=5)
    report.event_breakdown  # only event types at least 5 installs recorded
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import duckdb

from analytics import _compute as compute
from analytics.models import (
    AnalyticsFilter,
    AnalyticsReport,
    EventsOverTime,
    Histogram,
    SessionStats,
    SystemInfo,
    Totals,
)
from analytics.queries import FILTER, HTTP_METHOD_KEYS, HTTP_ROUTE, _json_path
from analytics.timebuckets import WIDTHS_NS
from exporters.eventlog.schema import ATTR_ERROR_CATEGORY, SPANS
from exporters.lake.schema import compacted_days, deduped_sql, lake_files

from .duckdb_engine import relisted
from .reports import DEFAULT_MIN_INSTALLS

#: The lake columns the dashboard statements read, and ``install_id`` to count each group's installs.
_COLUMNS: Final = (
    "install_id", "name", "kind", "start_ns", "end_ns", "duration_ms", "status_code", "status_message",
    "category", "event_type", "session_id", "error_type", "metric_name", "metric_value", "metric_unit",
    "attributes", "redactions",
)  # fmt: skip
_READ_FILES: Final = (
    "read_parquet($files, hive_partitioning = true, union_by_name = true, hive_types = {'day': VARCHAR})"
)


class FleetAnalyticsReport(AnalyticsReport):
    """:class:`AnalyticsReport` over the lake, plus what k-anonymity did to it.

    ``installs`` is the number of installs in the selection (None when it is below ``min_installs``);
    ``suppressed`` counts the groups left out, by section.
    """

    min_installs: int
    installs: int | None = None
    suppressed: dict[str, int] = {}


@dataclass(frozen=True)
class _Groups:
    """How one section groups rows: the key (as its statement computes it) over ``source`` rows ``where``."""

    key: str
    where: str
    source: str = SPANS


_ROUTE: Final = f"coalesce(json_extract_string(attributes, {_json_path(HTTP_ROUTE)}), name, '')"
_METHOD: Final = (
    "coalesce(" + ", ".join(f"json_extract_string(attributes, {_json_path(k)})" for k in HTTP_METHOD_KEYS) + ")"
)
_GROUPS: Final = {
    "event_breakdown": _Groups("coalesce(event_type, '')", "category = 'event'"),
    "errors_by_type": _Groups(
        f"coalesce(error_type, 'unknown'), json_extract_string(attributes, {_json_path(ATTR_ERROR_CATEGORY)})",
        "category = 'error'",
    ),
    "performance": _Groups(
        "coalesce(metric_name, ''), metric_unit", "category = 'performance' AND isfinite(metric_value)"
    ),
    "events_over_time": _Groups("(start_ns - $origin) // $bucket_ns", "start_ns >= $origin"),
    "slowest_distribution": _Groups(
        "least(CAST(floor((metric_value - $low) / $width) AS BIGINT), $bins - 1)",
        "category = 'performance' AND coalesce(metric_name, '') = $metric_name "
        "AND metric_unit IS NOT DISTINCT FROM $unit AND isfinite(metric_value)",
    ),
    "api_response_times": _Groups(f"{_ROUTE}, {_METHOD}", "category = 'http'"),
    "sessions": _Groups("true", "session_id IS NOT NULL"),
    "redactions": _Groups(
        "rule.key",
        "redactions IS NOT NULL AND json_type(redactions) = 'OBJECT' AND TRY_CAST(rule.value AS BIGINT) > 0",
        f"{SPANS}, json_each({SPANS}.redactions) AS rule",
    ),
}


def fleet_analytics(
    lake: Path,
    filters: AnalyticsFilter | None = None,
    *,
    min_installs: int = DEFAULT_MIN_INSTALLS,
    buckets: int = 60,
    bins: int = 20,
) -> FleetAnalyticsReport:
    """The dashboard report over the lake at ``lake``, every group backed by ``min_installs`` installs.

    >>> fleet_analytics(Path("/srv/lake"), AnalyticsFilter(), min_installs=5).totals.total_events

    Raises ``duckdb.Error`` (or ``OSError``) when the lake cannot be read; ``ValueError`` for a bad
    ``min_installs``, ``buckets`` or ``bins``.
    """
    if isinstance(min_installs, bool) or not isinstance(min_installs, int) or min_installs < 1:
        raise ValueError("min_installs must be an integer >= 1")
    f = filters or AnalyticsFilter()

    def read() -> FleetAnalyticsReport:
        with contextlib.closing(duckdb.connect()) as con:
            _select(con, Path(lake), f)
            return _report(compute.Reader(con, f), min_installs, buckets, bins)

    return relisted(read)


def _select(con: duckdb.DuckDBPyConnection, lake: Path, f: AnalyticsFilter) -> None:
    """``spans``: the filtered, deduplicated selection, read once from one listing of the files.

    Filtering before deduplicating gives the same rows: every copy of a span carries the same values. The
    days compacted in that listing skip the deduplication.
    """
    files = [str(p) for p in lake_files(lake)]
    columns = ", ".join(_COLUMNS)
    if files:
        source = f"(SELECT * FROM {_READ_FILES} WHERE {FILTER})"  # noqa: S608 (constants; values are bound)
        params: dict[str, Any] = {
            "files": files, "start_ns": f.start_ns, "end_ns": f.end_ns,
            "event_types": f.event_types, "session_id": f.session_id,
        }  # fmt: skip
        selected = deduped_sql(source, columns, compacted_days(lake, files=files))
        # The event log never holds a NULL status (the local SQL relies on it); a lake file from elsewhere might.
        normalized = f"SELECT * REPLACE (coalesce(status_code, 'UNSET') AS status_code) FROM ({selected}) s"  # noqa: S608
        con.execute(f"CREATE TEMP TABLE {SPANS} AS {normalized}", params)
    else:
        types = dict(_EMPTY_TYPES)
        empty = ", ".join(f"CAST(NULL AS {types.get(c, 'VARCHAR')}) AS {c}" for c in _COLUMNS)
        con.execute(f"CREATE TEMP TABLE {SPANS} AS SELECT {empty} WHERE false")


_EMPTY_TYPES: Final = (
    ("start_ns", "BIGINT"),
    ("end_ns", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("metric_value", "DOUBLE"),
)


def _report(r: compute.Reader, k: int, buckets: int, bins: int) -> FleetAnalyticsReport:
    [(installs,)] = r.statement("installs", f"SELECT count(DISTINCT install_id) FROM {SPANS} WHERE {FILTER}")  # noqa: S608 (constants)
    if installs < k:
        return _empty(r.filter, k)
    suppressed: dict[str, int] = {}

    def kept(section: str, items: list[Any], key: Callable[[Any], tuple[Any, ...]], **extra: Any) -> list[Any]:
        shown, hidden = _groups_by_size(r, section, k, **extra)
        suppressed[section] = hidden
        return [item for item in items if key(item) in shown]

    breakdown, types = compute.event_breakdown(r)
    breakdown = kept("event_breakdown", breakdown, lambda e: (e.event_type,))
    sessions = compute.sessions(r)
    if kept("sessions", [sessions], lambda _: (True,)) == []:
        sessions = SessionStats()
    totals = compute.counts(r, event_types=types - suppressed["event_breakdown"], sessions=sessions.count)
    over_time = compute.events_over_time(r, totals, buckets)
    if over_time.buckets:
        origin = over_time.buckets[0].start_ns
        over_time.buckets = kept(
            "events_over_time", over_time.buckets, lambda b: ((b.start_ns - origin) // over_time.bucket_ns,),
            origin=origin, bucket_ns=over_time.bucket_ns,
        )  # fmt: skip
    errors = kept("errors_by_type", compute.errors_by_type(r), lambda e: (e.error_type, e.category))
    for error in errors:
        error.example = None  # one install's message, whatever the group's size
    performance = kept("performance", compute.performance(r), lambda m: (m.metric_name, m.unit))
    slowest = compute.slowest(performance)
    histogram = compute.distribution(r, slowest, bins)
    if slowest is not None and histogram.bins:
        low, high = slowest.min, slowest.max
        width = (high - low) / bins if high > low else 1.0
        indexed = list(enumerate(histogram.bins))
        histogram.bins = [b for _, b in kept(
            "slowest_distribution", indexed, lambda ib: (ib[0],),
            low=low, width=width, bins=bins if high > low else 1, metric_name=slowest.metric_name, unit=slowest.unit,
        )]  # fmt: skip
    return FleetAnalyticsReport(
        filter=r.filter,
        totals=totals,
        event_breakdown=breakdown,
        events_over_time=over_time,
        errors_by_type=errors,
        performance=performance,
        slowest_distribution=histogram,
        api_response_times=kept("api_response_times", compute.api_response_times(r), lambda t: (t.route, t.method)),
        sessions=sessions,
        system_info=SystemInfo(),
        redactions=kept("redactions", compute.redactions(r), lambda x: (x.rule_id,)),
        consent_history=[],
        min_installs=k,
        installs=installs,
        suppressed=suppressed,
    )


def _groups_by_size(r: compute.Reader, section: str, k: int, **extra: Any) -> tuple[set[tuple[Any, ...]], int]:
    """The keys of ``section``'s groups backed by at least ``k`` installs (in the filtered selection), and
    how many groups have fewer. Only those keys are shown: an empty time bucket or histogram bin, backed
    by no install, is left out like a small one, so a gap never tells "few" from "none"."""
    g = _GROUPS[section]
    sql = (
        f"SELECT {g.key}, count(DISTINCT install_id) >= {int(k)} FROM {g.source} "  # noqa: S608 (constants of this module)
        f"WHERE {g.where} AND {FILTER} GROUP BY ALL"
    )
    rows = r.statement(f"{section} installs", sql, **extra)
    return {tuple(row[:-1]) for row in rows if row[-1]}, sum(1 for row in rows if not row[-1])


def _empty(f: AnalyticsFilter, k: int) -> FleetAnalyticsReport:
    """The answer for a selection of fewer than ``k`` installs: nothing of it, not even its totals."""
    return FleetAnalyticsReport(
        filter=f,
        totals=Totals(),
        event_breakdown=[],
        events_over_time=EventsOverTime(bucket_ns=WIDTHS_NS[0], buckets=[]),
        errors_by_type=[],
        performance=[],
        slowest_distribution=Histogram(),
        api_response_times=[],
        sessions=SessionStats(),
        system_info=SystemInfo(),
        redactions=[],
        consent_history=[],
        min_installs=k,
        installs=None,
        suppressed={"totals": 1},
    )
