"""Every dashboard query at 1M and 10M spans, side by side with the same aggregate by hand over a flat table.

    .venv/bin/python bench/bench_analytics.py            # 1M and 10M rows (~3-5 min on 2 cores)
    .venv/bin/python bench/bench_analytics.py --quick    # 100k rows, well under a minute
    .venv/bin/python bench/bench_analytics.py --keep /tmp/analytics-bench   # reuse generated files

Rows are generated straight into DuckDB in bulk (SQL over ``range()``), not through the pipeline, with the
shape the pipeline writes: 60% events (50 types), 20% measurements (10 metrics, mixed units), 10% HTTP
server spans (20 routes x 4 methods, allowlisted JSON attributes), 2% errors, 8% plain spans, one session
per 1,000 spans, redactions on 10% of rows, 90 days of time.

The baseline ("by hand") answers the same question over ``flat``: a table of only the columns that
question needs, with the JSON-only fields (HTTP route, method and status, error category) lifted into
real columns and redactions exploded into rows. It is the floor a query over our schema can approach;
the ratio is the price of the schema and of our SQL. The connection is configured as the event log
configures its own (1 thread, 128 MB), since that is what the dashboard gets.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import Analytics, AnalyticsFilter
from bench._common import Figure, Report, alternate
from exporters.eventlog import schema
from exporters.eventlog.migrate import migrate

DAY_NS = 86_400 * 10**9
T0 = 1_700_000_000 * 10**9
GOAL = "< 1000 ms"

GENERATE = f"""
INSERT INTO {schema.SPANS} BY NAME
WITH base AS (
    SELECT i, hash(i) AS h, $t0 + i * ($days * {DAY_NS} // $n) AS t0, (i * greatest(1, $n // 1000)) // $n AS sess
    FROM range($n) r(i)
), c AS (
    SELECT *, (h % 100)::BIGINT AS p, ((h >> 8) % 1000)::BIGINT AS q, ((h >> 20) % 997)::BIGINT AS r FROM base
), d AS (
    SELECT *, CASE WHEN p < 60 THEN 'event' WHEN p < 80 THEN 'performance' WHEN p < 90 THEN 'http'
                   WHEN p < 92 THEN 'error' ELSE 'span' END AS cat,
           ((r % 500) + 1) * 1000000 * (1 + (q % 7)) AS dur_ns,
           ['GET', 'POST', 'PUT', 'DELETE'][1 + r % 4] AS method,
           CASE WHEN q % 50 = 0 THEN 500 ELSE 200 END AS http_status
    FROM c
)
SELECT
    printf('%032x', i // 20) AS trace_id, printf('%016x', i) AS span_id,
    CASE cat WHEN 'event' THEN 'event_' || (q % 50) WHEN 'http' THEN method || ' /api/r' || (q % 20) ELSE cat END
        AS name,
    CASE WHEN cat = 'http' THEN 'SERVER' ELSE 'INTERNAL' END AS kind,
    t0 AS start_ns, t0 + dur_ns AS end_ns, dur_ns / 1e6 AS duration_ms,
    CASE WHEN cat = 'error' OR (cat = 'http' AND http_status >= 500) THEN 'ERROR' ELSE 'UNSET' END AS status_code,
    CASE WHEN cat = 'error' THEN 'ValueError: step ' || (q % 10) || ' failed' END AS status_message,
    cat AS category,
    CASE cat WHEN 'event' THEN 'event_' || (q % 50) WHEN 'http' THEN method || ' /api/r' || (q % 20) ELSE cat END
        AS event_type,
    printf('%032x', sess) AS session_id,
    CASE WHEN cat = 'error' THEN ['ValueError', 'KeyError', 'RuntimeError', 'OSError', 'TimeoutError'][1 + q % 5]
        END AS error_type,
    CASE WHEN cat = 'performance' THEN 'metric_' || (q % 10) END AS metric_name,
    CASE WHEN cat = 'performance' THEN (r + 1) * (1 + q % 10) / 10.0 END AS metric_value,
    CASE WHEN cat = 'performance' THEN ['ms', 's', 'ms', 'By', 'ms', 'ms', 's', 'ms', '1', 'ms'][1 + q % 10] END
        AS metric_unit,
    CASE cat
        WHEN 'http' THEN '{{"http.route":"/api/r' || (q % 20) || '","http.request.method":"' || method
            || '","http.response.status_code":' || http_status || ',"url.scheme":"http"}}'
        WHEN 'error' THEN '{{"peft.category":"error","error.type":"X","{schema.ATTR_ERROR_CATEGORY}":"'
            || ['training', 'io', 'network'][1 + r % 3] || '","context.step":' || r || '}}'
        WHEN 'event' THEN '{{"peft.category":"event","peft.event_type":"event_' || (q % 50)
            || '","algorithm":"lora","model_size":"7B","epochs":' || (r % 10) || ',"file":"data.csv"}}'
        ELSE '{{"peft.category":"' || cat || '","x":' || r || '}}' END AS attributes,
    left(md5({{resource}}), 16) AS resource_id,
    'peft_studio.telemetry' AS scope_name, '0.1.0' AS scope_version,
    CASE WHEN q % 20 = 0 THEN '{{"email":' || (1 + r % 3) || ',"path.home":1}}'
         WHEN q % 20 = 1 THEN '{{"api_key":1}}' END AS redactions,
    0 AS dropped_attributes
FROM d
"""

# One resource per session, as a process writes it; stored once in the resources table.
RESOURCE = (
    '\'{"service.name":"peft-studio","service.version":"1.\' || (sess % 5) || \'.0","os.type":"linux",'
    '"os.version":"6.1","process.runtime.name":"cpython","process.runtime.version":"3.11.9",'
    '"host.arch":"x86_64","session.id":"\' || printf(\'%032x\', sess) || \'"}\''
)
GENERATE = GENERATE.replace("{resource}", RESOURCE)
RESOURCES = f"""
INSERT INTO {schema.RESOURCES} BY NAME
SELECT left(md5({RESOURCE}), 16) AS resource_id, $t0 AS first_seen_ns, {RESOURCE} AS attributes
FROM range(greatest(1, $n // 1000) + 1) r(sess)
"""

CONSENT = f"""
INSERT INTO {schema.CONSENT_LEDGER}
SELECT $t0 + i * {DAY_NS}, CASE WHEN i % 2 = 0 THEN 'granted' ELSE 'revoked' END, '1', 'a1b2c3d4e5f60718', 'api'
FROM range(12) r(i)
"""

# The baseline's tables: only needed columns, JSON-only fields as real columns, redactions as rows.
FLAT = [
    f"""CREATE TABLE flat AS SELECT category, event_type, start_ns, end_ns, session_id, error_type,
        json_extract_string(attributes, '$."{schema.ATTR_ERROR_CATEGORY}"') AS error_category, status_message,
        metric_name, metric_value, metric_unit, duration_ms, status_code, resource,
        CASE WHEN category = 'http' THEN json_extract_string(attributes, '$."http.route"') END AS http_route,
        CASE WHEN category = 'http' THEN json_extract_string(attributes, '$."http.request.method"') END
            AS http_method,
        CASE WHEN category = 'http' THEN json_extract_string(attributes, '$."http.response.status_code"')::INTEGER
            END AS http_status
        FROM {schema.SPANS_WITH_RESOURCE} ORDER BY start_ns""",
    f"""CREATE TABLE flat_redactions AS SELECT start_ns, key AS rule_id, value::BIGINT AS n
        FROM {schema.SPANS}, json_each(redactions) WHERE redactions IS NOT NULL""",
]

HAND: dict[str, list[str]] = {
    "totals": [
        "SELECT count(*) FILTER (WHERE category = 'event'), count(*), count(*) FILTER (WHERE category = 'error'),"
        " count(*) FILTER (WHERE category = 'performance'), min(start_ns), max(start_ns) FROM flat",
        "SELECT count(DISTINCT event_type) FROM flat WHERE category = 'event'",
        "SELECT count(DISTINCT session_id) FROM flat",
    ],
    "event_breakdown": [
        "SELECT event_type, count(*) AS n, 100.0 * count(*) / sum(count(*)) OVER () FROM flat"
        " WHERE category = 'event' GROUP BY event_type ORDER BY n DESC LIMIT 200"
    ],
    "events_over_time": [
        "SELECT min(start_ns), max(start_ns) FROM flat",
        "SELECT start_ns // $width, count(*) FILTER (WHERE category = 'event'),"
        " count(*) FILTER (WHERE category = 'error') FROM flat GROUP BY 1",
    ],
    "errors_by_type": [
        "SELECT error_type, error_category, count(*) AS n, max(start_ns), arg_max(status_message, start_ns)"
        " FROM flat WHERE category = 'error' GROUP BY ALL ORDER BY n DESC LIMIT 100"
    ],
    "performance": [
        "SELECT metric_name, metric_unit, count(*), avg(metric_value), min(metric_value), max(metric_value),"
        " quantile_cont(metric_value, [0.5, 0.95]) FROM flat WHERE category = 'performance' GROUP BY ALL"
    ],
    "slowest_distribution": [
        "SELECT metric_name, metric_unit, count(*), avg(metric_value), min(metric_value), max(metric_value),"
        " quantile_cont(metric_value, [0.5, 0.95]) FROM flat WHERE category = 'performance' GROUP BY ALL",
        "SELECT least(floor((metric_value - 0.1) / 5.0)::BIGINT, 19), count(*) FROM flat"
        " WHERE category = 'performance' AND metric_name = 'metric_9' AND metric_unit = 'ms' GROUP BY 1",
    ],
    "api_response_times": [
        "SELECT http_route, http_method, count(*) AS n, avg(duration_ms), quantile_cont(duration_ms, 0.95),"
        " count(*) FILTER (WHERE status_code = 'ERROR' OR http_status >= 500) FROM flat"
        " WHERE category = 'http' GROUP BY ALL ORDER BY n DESC LIMIT 100"
    ],
    "sessions": [
        "SELECT count(*), avg(s), median(s), max(s) FROM (SELECT (max(end_ns) - min(start_ns)) / 1e9 AS s"
        " FROM flat WHERE session_id IS NOT NULL GROUP BY session_id)"
    ],
    "system_info": ["SELECT resource FROM flat ORDER BY start_ns DESC LIMIT 1"],
    "redactions": ["SELECT rule_id, sum(n) AS c FROM flat_redactions GROUP BY rule_id ORDER BY c DESC"],
    "consent_history": [
        f"SELECT time_ns, action, policy_version, anonymous_id, source FROM {schema.CONSENT_LEDGER}"
        " ORDER BY time_ns DESC LIMIT 200"
    ],
}


def build(path: Path, rows: int) -> float:
    """Generate ``rows`` spans (and the baseline's flat tables) into a new file; returns seconds taken."""
    started = time.perf_counter()
    with duckdb.connect(str(path)) as con:
        migrate(con)
        con.execute(GENERATE, {"t0": T0, "n": rows, "days": 90})
        con.execute(RESOURCES, {"t0": T0, "n": rows})
        con.execute(CONSENT, {"t0": T0})
        for statement in FLAT:
            con.execute(statement)
        con.execute("CHECKPOINT")
    return time.perf_counter() - started


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1000

    return run


def hand(con: duckdb.DuckDBPyConnection, statements: list[str]) -> Callable[[], object]:
    width = {"width": DAY_NS * 2}

    def run() -> object:
        return [con.execute(sql, width if "$width" in sql else None).fetchall() for sql in statements]

    return run


def run(report: Report, path: Path, rows: int, repeats: int, threads: int) -> None:
    con = duckdb.connect(str(path), read_only=True, config={"threads": threads, "memory_limit": "128MB"})

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = con.cursor()  # what EventLog.reader hands out: a cursor per use
        try:
            yield cursor
        finally:
            cursor.close()

    an = Analytics(connect)
    f = AnalyticsFilter()
    ours: dict[str, Callable[[], object]] = {
        "totals": lambda: an.totals(f),
        "event_breakdown": lambda: an.event_breakdown(f),
        "events_over_time": lambda: an.events_over_time(f),
        "errors_by_type": lambda: an.errors_by_type(f),
        "performance": lambda: an.performance(f),
        "slowest_distribution": lambda: an.slowest_distribution(f),
        "api_response_times": lambda: an.api_response_times(f),
        "sessions": lambda: an.sessions(f),
        "system_info": an.system_info,
        "redactions": lambda: an.redactions(f),
        "consent_history": an.consent_history,
    }
    label = f"{rows / 1e6:g}M"
    for name, fn in ours.items():
        baseline = hand(con, HAND[name])
        fn(), baseline()  # warm
        samples = alternate({"ours": timed(fn), "hand": timed(baseline)}, repeats)
        report.add(Figure(f"{label} {name}", "ms", samples["ours"]))
        report.add(Figure(f"{label} {name} (by hand, flat)", "ms", samples["hand"]))
        report.ratio(f"{label} {name}", f"{label} {name} (by hand, flat)", GOAL)
        print(f"  {name:<22} {statistics.median(samples['ours']):9.1f} ms", flush=True)

    every_hand = [sql for statements in HAND.values() for sql in statements]
    week = AnalyticsFilter(start_ns=T0 + 83 * DAY_NS, end_ns=T0 + 90 * DAY_NS)
    contenders = {
        "report": timed(lambda: an.report(f)),
        "report_week": timed(lambda: an.report(week)),
        "hand": timed(hand(con, every_hand)),
    }
    for c in contenders.values():
        c()
    samples = alternate(contenders, repeats)
    report.add(Figure(f"{label} whole report (one dashboard load)", "ms", samples["report"]))
    report.add(Figure(f"{label} every hand-written query, one after another", "ms", samples["hand"]))
    report.ratio(f"{label} whole report (one dashboard load)", f"{label} every hand-written query, one after another")
    report.add(Figure(f"{label} whole report, last 7 of 90 days", "ms", samples["report_week"], notes="range filter"))
    con.close()


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows only (CI smoke run, < 1 min)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per query, after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="DuckDB threads (the event log uses 1)")
    parser.add_argument("--keep", type=Path, help="keep generated databases in this folder and reuse them")
    args = parser.parse_args(argv)
    report = Report(f"Analytics: dashboard queries vs the same aggregates by hand (DuckDB threads={args.threads})")
    sizes = [100_000] if args.quick else [1_000_000, 10_000_000]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for rows in sizes:
            path = folder / f"spans-{rows}.duckdb"
            if not path.exists():
                print(f"generating {rows:,} spans ...", flush=True)
                print(f"  done in {build(path, rows):.1f} s, {path.stat().st_size / 2**20:,.0f} MiB", flush=True)
            run(report, path, rows, args.repeats, args.threads)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    report.print()
    report.save("analytics-quick" if args.quick else "analytics")
    return report


if __name__ == "__main__":
    main()
