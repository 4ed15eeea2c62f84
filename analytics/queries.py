"""The analytics SQL, as named constants over the event log's schema.

Only constants are ever put into these strings: table names from ``exporters.eventlog.schema``, the fixed filter
clause below, and JSON paths built from allowlisted attribute keys (checked by ``_json_path``). Every value
a user supplies (time range, event types, session, bucket width, metric name) is a bound ``$parameter``.

Speed (10M spans, 2 cores; see ``bench/bench_analytics.py``): the hot questions read real columns only.
JSON is parsed on few rows: error rows for the error category, *distinct* attribute strings of HTTP
spans (their attributes are allowlisted by the server, so few distinct strings cover millions of rows),
and distinct ``redactions`` strings.
"""

from __future__ import annotations

import re
from typing import Final

from exporters.eventlog.schema import ATTR_ERROR_CATEGORY, CONSENT_LEDGER, RESOURCES, SPANS, column_names

# The columns this module names. Checked against the schema at import, so a renamed column fails loudly
# here instead of as a wrong number on the dashboard (tests also bind every query against the schema).
_SPAN_COLUMNS_USED: Final = (
    "name", "kind", "start_ns", "end_ns", "duration_ms", "status_code", "status_message", "category",
    "event_type", "session_id", "error_type", "metric_name", "metric_value", "metric_unit", "attributes",
    "resource_id", "redactions",
)  # fmt: skip
_CONSENT_COLUMNS_USED: Final = ("time_ns", "action", "policy_version", "anonymous_id", "source")
for _table, _used in ((SPANS, _SPAN_COLUMNS_USED), (CONSENT_LEDGER, _CONSENT_COLUMNS_USED)):
    _missing = set(_used) - set(column_names(_table))
    if _missing:  # pragma: no cover - only a schema change gets here
        raise RuntimeError(f"analytics SQL names columns missing from {_table}: {sorted(_missing)}")

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _json_path(key: str) -> str:
    """A SQL string literal for the top-level JSON member ``key`` (keys contain dots, hence the quotes)."""
    if not _KEY.match(key):
        raise ValueError(f"not an allowlisted attribute key: {key!r}")
    return f"'$.\"{key}\"'"


# OpenTelemetry HTTP semantic conventions, stable names first, then the legacy ones older
# instrumentations still emit.
HTTP_ROUTE: Final = "http.route"
HTTP_METHOD_KEYS: Final = ("http.request.method", "http.method")
HTTP_STATUS_KEYS: Final = ("http.response.status_code", "http.status_code")
_HTTP_PATHS: Final = ", ".join(_json_path(k) for k in (HTTP_ROUTE, *HTTP_METHOD_KEYS, *HTTP_STATUS_KEYS))

#: Applied to every span question; each parameter is NULL when the filter does not set it. A static
#: clause (not assembled per request) costs nothing measurable: DuckDB folds the NULL tests and still
#: prunes row groups by start_ns.
FILTER: Final = """
    ($start_ns IS NULL OR start_ns >= $start_ns)
    AND ($end_ns IS NULL OR start_ns < $end_ns)
    AND ($event_types IS NULL OR list_contains($event_types, event_type))
    AND ($session_id IS NULL OR session_id = $session_id)
"""

#: Counts and time range in one pass. ``sum(flag::INTEGER)`` rather than ``count(*) FILTER (...)``: the
#: same number, computed faster by DuckDB (figures in bench/README.md). Distinct event types and sessions
#: are not counted here (a ``count(DISTINCT ...)`` costs more than the pass itself); the report takes both
#: from the breakdown and session queries it runs anyway.
COUNTS: Final = f"""
SELECT
    coalesce(sum((category = 'event')::INTEGER), 0),
    count(*),
    coalesce(sum((category = 'error')::INTEGER), 0),
    coalesce(sum((category = 'performance')::INTEGER), 0),
    min(start_ns),
    max(start_ns)
FROM {SPANS} WHERE {FILTER}
"""

DISTINCT_EVENT_TYPES: Final = f"""
SELECT count(*) FROM (SELECT event_type FROM {SPANS} WHERE category = 'event' AND {FILTER} GROUP BY event_type)
"""

#: ``types`` is the number of groups before LIMIT (window functions run before it).
EVENT_BREAKDOWN: Final = f"""
SELECT coalesce(event_type, '') AS event_type, count(*) AS n,
       100.0 * count(*) / sum(count(*)) OVER () AS pct, count(*) OVER () AS types
FROM {SPANS} WHERE category = 'event' AND {FILTER}
GROUP BY event_type ORDER BY n DESC, event_type LIMIT 200
"""

#: Buckets are counted from ``$origin``; the engine fills the empty ones with zeros.
EVENTS_OVER_TIME: Final = f"""
SELECT (start_ns - $origin) // $bucket_ns AS bucket,
       sum((category = 'event')::INTEGER),
       sum((category = 'error')::INTEGER)
FROM {SPANS} WHERE start_ns >= $origin AND {FILTER}
GROUP BY bucket ORDER BY bucket
"""

#: Error rows are few: extracting the category from their JSON attributes is cheap.
ERRORS_BY_TYPE: Final = f"""
SELECT coalesce(error_type, 'unknown') AS error_type,
       json_extract_string(attributes, {_json_path(ATTR_ERROR_CATEGORY)}) AS error_category,
       count(*) AS n,
       max(start_ns),
       arg_max(status_message, start_ns)
FROM {SPANS} WHERE category = 'error' AND {FILTER}
GROUP BY ALL ORDER BY n DESC, error_type, error_category NULLS FIRST LIMIT 100
"""

#: One sort per group for both quantiles; non-finite values are left out (they would poison avg/JSON).
PERFORMANCE: Final = f"""
SELECT coalesce(metric_name, '') AS metric_name, metric_unit, count(*), avg(metric_value),
       min(metric_value), max(metric_value), quantile_cont(metric_value, [0.5, 0.95])
FROM {SPANS} WHERE category = 'performance' AND isfinite(metric_value) AND {FILTER}
GROUP BY ALL ORDER BY metric_name, metric_unit NULLS FIRST LIMIT 200
"""

METRIC_HISTOGRAM: Final = f"""
SELECT least(CAST(floor((metric_value - $low) / $width) AS BIGINT), $bins - 1) AS bin, count(*)
FROM {SPANS}
WHERE category = 'performance' AND coalesce(metric_name, '') = $metric_name
  AND metric_unit IS NOT DISTINCT FROM $unit AND isfinite(metric_value) AND {FILTER}
GROUP BY bin ORDER BY bin
"""

#: HTTP spans carry the route only in their attributes JSON. Rather than parsing it on every row, rows are
#: first grouped by their attribute string (few distinct values: the server keeps only route, method,
#: status, scheme, protocol), each distinct string is parsed once, and the durations travel along as lists
#: so p95 stays exact.
API_RESPONSE_TIMES: Final = f"""
WITH grouped AS (
    SELECT attributes, name, status_code, list(duration_ms) AS durations
    FROM {SPANS} WHERE category = 'http' AND {FILTER}
    GROUP BY ALL
), parsed AS (
    SELECT name, status_code, durations, json_extract_string(attributes, [{_HTTP_PATHS}]) AS j
    FROM grouped
)
SELECT coalesce(j[1], name, '') AS route, coalesce(j[2], j[3]) AS method, count(*) AS n,
       coalesce(avg(d), 0), coalesce(quantile_cont(d, 0.95), 0),
       sum((status_code = 'ERROR'
            OR coalesce(TRY_CAST(j[4] AS INTEGER), TRY_CAST(j[5] AS INTEGER), 0) >= 500)::INTEGER)
FROM parsed, unnest(durations) AS u(d)
GROUP BY ALL ORDER BY n DESC, route, method NULLS FIRST LIMIT 100
"""

#: ``current`` is the length of ``$current_session_id`` (NULL when not asked for or not in range).
SESSIONS: Final = f"""
WITH per_session AS (
    SELECT session_id, (max(end_ns) - min(start_ns)) / 1e9 AS seconds
    FROM {SPANS} WHERE session_id IS NOT NULL AND {FILTER}
    GROUP BY session_id
)
SELECT count(*), coalesce(avg(seconds), 0), coalesce(median(seconds), 0), coalesce(max(seconds), 0),
       max(seconds) FILTER (WHERE session_id = $current_session_id)
FROM per_session
"""

LATEST_RESOURCE: Final = f"""
SELECT attributes FROM {RESOURCES} WHERE resource_id = (
    SELECT resource_id FROM {SPANS} WHERE resource_id IS NOT NULL ORDER BY start_ns DESC LIMIT 1
) LIMIT 1
"""

#: ``redactions`` repeats the same few objects ({"email": 1}...): count each distinct string, parse it
#: once, and weight its counts (rather than ``json_each`` on every row).
REDACTIONS: Final = f"""
WITH distinct_objects AS (
    SELECT redactions, count(*) AS spans
    FROM {SPANS} WHERE redactions IS NOT NULL AND {FILTER}
    GROUP BY redactions
)
SELECT rule.key AS rule_id, sum(TRY_CAST(rule.value AS BIGINT) * spans) AS n
FROM distinct_objects, json_each(distinct_objects.redactions) AS rule
WHERE json_type(distinct_objects.redactions) = 'OBJECT'
GROUP BY rule.key HAVING n > 0 ORDER BY n DESC, rule.key
"""

CONSENT_HISTORY: Final = f"""
SELECT time_ns, action, policy_version, anonymous_id, source
FROM {CONSENT_LEDGER} ORDER BY time_ns DESC LIMIT 200
"""

#: Every statement by name: what the engine reports in errors and what the schema test binds.
ALL: Final = {
    "counts": COUNTS,
    "distinct_event_types": DISTINCT_EVENT_TYPES,
    "event_breakdown": EVENT_BREAKDOWN,
    "events_over_time": EVENTS_OVER_TIME,
    "errors_by_type": ERRORS_BY_TYPE,
    "performance": PERFORMANCE,
    "metric_histogram": METRIC_HISTOGRAM,
    "api_response_times": API_RESPONSE_TIMES,
    "sessions": SESSIONS,
    "latest_resource": LATEST_RESOURCE,
    "redactions": REDACTIONS,
    "consent_history": CONSENT_HISTORY,
}
