"""The analytics SQL, as named constants over the event log's schema.

Only two kinds of text are ever put into these strings: table names from ``exporters.schema`` and the
fixed filter clause below. Every value a user supplies (time range, event types, session, bucket
width) is a bound parameter.
"""

from __future__ import annotations

from typing import Final

from exporters.schema import CONSENT_LEDGER, SPANS

#: Applied to every span question; each parameter is NULL when the filter does not set it.
FILTER: Final = """
    ($start_ns IS NULL OR start_ns >= $start_ns)
    AND ($end_ns IS NULL OR start_ns < $end_ns)
    AND ($event_types IS NULL OR list_contains($event_types, event_type))
    AND ($session_id IS NULL OR session_id = $session_id)
"""

TOTALS: Final = f"""
SELECT
    count(*) FILTER (WHERE category = 'event'),
    count(*),
    count(*) FILTER (WHERE category = 'error'),
    count(*) FILTER (WHERE category = 'performance'),
    count(DISTINCT event_type) FILTER (WHERE category = 'event'),
    count(DISTINCT session_id),
    min(start_ns),
    max(start_ns)
FROM {SPANS} WHERE {FILTER}
"""

EVENT_BREAKDOWN: Final = f"""
SELECT event_type, count(*) AS n, 100.0 * count(*) / sum(count(*)) OVER () AS pct
FROM {SPANS} WHERE category = 'event' AND {FILTER}
GROUP BY event_type ORDER BY n DESC, event_type LIMIT 200
"""

EVENTS_OVER_TIME: Final = f"""
SELECT (start_ns // $bucket_ns) * $bucket_ns AS bucket,
       count(*) FILTER (WHERE category = 'event'),
       count(*) FILTER (WHERE category = 'error')
FROM {SPANS} WHERE {FILTER}
GROUP BY bucket ORDER BY bucket
"""

ERRORS_BY_TYPE: Final = f"""
SELECT error_type,
       arg_max(json_extract_string(attributes, '$."peft.error.category"'), start_ns),
       count(*) AS n,
       max(start_ns),
       arg_max(status_message, start_ns)
FROM {SPANS} WHERE category = 'error' AND error_type IS NOT NULL AND {FILTER}
GROUP BY error_type ORDER BY n DESC, error_type LIMIT 100
"""

PERFORMANCE: Final = f"""
SELECT metric_name, metric_unit, count(*), avg(metric_value), min(metric_value), max(metric_value),
       quantile_cont(metric_value, 0.5), quantile_cont(metric_value, 0.95)
FROM {SPANS} WHERE category = 'performance' AND metric_value IS NOT NULL AND {FILTER}
GROUP BY metric_name, metric_unit ORDER BY metric_name, metric_unit LIMIT 200
"""

METRIC_HISTOGRAM: Final = f"""
SELECT least(CAST(floor((metric_value - $low) / $width) AS BIGINT), $bins - 1) AS bin, count(*)
FROM {SPANS}
WHERE category = 'performance' AND metric_name = $metric_name AND metric_unit IS NOT DISTINCT FROM $unit
  AND metric_value IS NOT NULL AND {FILTER}
GROUP BY bin ORDER BY bin
"""

API_RESPONSE_TIMES: Final = f"""
WITH http AS (
    SELECT coalesce(json_extract_string(attributes, '$."http.route"'), name) AS route,
           coalesce(json_extract_string(attributes, '$."http.request.method"'),
                    json_extract_string(attributes, '$."http.method"')) AS method,
           duration_ms,
           status_code = 'ERROR' OR coalesce(
               TRY_CAST(json_extract_string(attributes, '$."http.response.status_code"') AS INTEGER),
               TRY_CAST(json_extract_string(attributes, '$."http.status_code"') AS INTEGER), 0) >= 500 AS failed
    FROM {SPANS} WHERE category = 'http' AND {FILTER}
)
SELECT route, method, count(*) AS n, avg(duration_ms), quantile_cont(duration_ms, 0.95),
       count(*) FILTER (WHERE failed)
FROM http GROUP BY route, method ORDER BY n DESC, route LIMIT 100
"""

SESSIONS: Final = f"""
WITH per_session AS (
    SELECT session_id, (max(end_ns) - min(start_ns)) / 1e9 AS seconds
    FROM {SPANS} WHERE session_id IS NOT NULL AND {FILTER}
    GROUP BY session_id
)
SELECT count(*), coalesce(avg(seconds), 0), coalesce(median(seconds), 0), coalesce(max(seconds), 0)
FROM per_session
"""

LATEST_RESOURCE: Final = f"""
SELECT resource FROM {SPANS} WHERE resource IS NOT NULL ORDER BY start_ns DESC LIMIT 1
"""

REDACTIONS: Final = f"""
SELECT rule.key, sum(TRY_CAST(rule.value AS BIGINT)) AS n
FROM {SPANS}, json_each({SPANS}.redactions) AS rule
WHERE redactions IS NOT NULL AND {FILTER}
GROUP BY rule.key ORDER BY n DESC, rule.key
"""

CONSENT_HISTORY: Final = f"""
SELECT time_ns, action, policy_version, anonymous_id, source
FROM {CONSENT_LEDGER} ORDER BY time_ns DESC LIMIT 200
"""
