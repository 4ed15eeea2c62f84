"""What every insight module shares: the time range being looked at, and running bound-parameter SQL.

Only constants go into the SQL text (names from ``exporters.eventlog.schema`` and the fixed clauses
below); every value (time range, names, split points) is a bound ``$parameter``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import duckdb

from analytics.insights.models import InsightsFilter
from exporters.eventlog.schema import EXPOSURE_EVENT_TYPE, RESOURCES, SPANS, column_names

HOUR_NS: Final = 3_600 * 10**9
DAY_NS: Final = 24 * HOUR_NS
WEEK_NS: Final = 7 * DAY_NS
EXPOSURE_EVENT: Final = EXPOSURE_EVENT_TYPE

_USED: Final = ("start_ns", "end_ns", "duration_ms", "category", "event_type", "name", "session_id", "error_type",
                "metric_name", "metric_value", "metric_unit", "attributes", "resource_id", "span_id")  # fmt: skip
_missing = set(_USED) - set(column_names(SPANS))
if _missing:  # pragma: no cover - only a schema change gets here
    raise RuntimeError(f"insights SQL names columns missing from {SPANS}: {sorted(_missing)}")

#: Applied to every span question; NULL bounds select everything.
RANGE: Final = "($since IS NULL OR start_ns >= $since) AND ($until IS NULL OR start_ns < $until)"

#: ``service.version`` per resource: resources are few (one per process), so their JSON is parsed once each.
VERSIONS: Final = f"""
versions AS (
    SELECT resource_id,
           coalesce(json_extract_string(any_value(attributes), '$."service.version"'), 'unknown') AS version
    FROM {RESOURCES} GROUP BY resource_id
)"""

_PARAM = re.compile(r"\$([a-z_]+)")


@dataclass(frozen=True)
class Scope:
    """The filter plus the range the log actually holds within it (``first_ns <= t < end_ns``)."""

    filter: InsightsFilter
    since_ns: int | None
    until_ns: int | None
    first_ns: int | None
    end_ns: int | None
    con: duckdb.DuckDBPyConnection

    @property
    def alpha(self) -> float:
        return self.filter.alpha

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run ``sql`` with the range and ``params``; only the parameters the statement names are bound."""
        values = {"since": self.since_ns, "until": self.until_ns, **params}
        wanted = set(_PARAM.findall(sql))
        return self.con.execute(sql, {k: v for k, v in values.items() if k in wanted}).fetchall()


RANGE_OF_LOG: Final = f"SELECT min(start_ns), max(start_ns) FROM {SPANS} WHERE {RANGE}"


def open_scope(con: duckdb.DuckDBPyConnection, f: InsightsFilter) -> Scope:
    since, until = f.since_ns, f.until_ns
    probe = Scope(f, since, until, None, None, con)
    first, last = probe.rows(RANGE_OF_LOG)[0]
    end = None if last is None else (until if until is not None else last + 1)
    return Scope(f, since, until, first, end, con)
