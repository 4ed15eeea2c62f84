"""Every dashboard query at 1M and 10M events, against the same aggregate by hand over a flat table.

Rows are generated straight into DuckDB in bulk (SQL over ``range()``), not through the pipeline. The
hand-written baseline runs over a flat table holding only the columns that question needs, which is
the floor a query over our schema can approach. Goal (issue 7): every dashboard query under 1 s at 10M.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import Analytics, AnalyticsFilter
from bench._common import Figure, Report
from exporters import schema

NS = 1_000_000_000
GENERATE = f"""
INSERT INTO {schema.SPANS} BY NAME
SELECT
    printf('%032x', i) AS trace_id, printf('%016x', i) AS span_id, NULL AS parent_span_id,
    CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 10 = 0 THEN 'performance' WHEN i % 25 = 1 THEN 'POST /api'
         ELSE 'event_' || (i % 12)::VARCHAR END AS name,
    'INTERNAL' AS kind,
    $t0 + i * 1000000 AS start_ns, $t0 + i * 1000000 + (i % 97) * 1000000 AS end_ns,
    (i % 97)::DOUBLE AS duration_ms,
    CASE WHEN i % 50 = 0 THEN 'ERROR' ELSE 'UNSET' END AS status_code,
    CASE WHEN i % 50 = 0 THEN 'OutOfMemoryError: CUDA out of memory' END AS status_message,
    CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 10 = 0 THEN 'performance' WHEN i % 25 = 1 THEN 'http'
         ELSE 'event' END AS category,
    CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 10 = 0 THEN 'performance' WHEN i % 25 = 1 THEN 'POST /api'
         ELSE 'event_' || (i % 12)::VARCHAR END AS event_type,
    'session-' || (i // 5000)::VARCHAR AS session_id,
    CASE WHEN i % 50 = 0 THEN ['torch.OutOfMemoryError', 'ValueError', 'OSError'][1 + (i // 50) % 3] END
        AS error_type,
    CASE WHEN i % 10 = 0 AND i % 50 <> 0 THEN 'metric_' || (i % 7)::VARCHAR END AS metric_name,
    CASE WHEN i % 10 = 0 AND i % 50 <> 0 THEN (i % 1000)::DOUBLE END AS metric_value,
    CASE WHEN i % 10 = 0 AND i % 50 <> 0 THEN 'ms' END AS metric_unit,
    CASE WHEN i % 25 = 1 THEN '{{"http.route": "/api/telemetry/events", "http.request.method": "POST"}}'
         WHEN i % 50 = 0 THEN '{{"peft.error.category": "out_of_memory"}}'
         ELSE '{{"algorithm": "lora", "model_name": "llama-2-7b", "lora_r": 16}}' END AS attributes,
    '{{"os.type": "linux", "service.version": "0.1.0"}}' AS resource,
    'peft_studio.telemetry' AS scope_name, '' AS scope_version,
    CASE WHEN i % 20 = 0 THEN '{{"key.email": 1}}' END AS redactions,
    NULL AS links, 0 AS dropped_attributes
FROM range($n) t(i)
"""

# The same questions by hand over a flat table of just the columns they need.
FLAT = """
CREATE TABLE flat AS SELECT category, event_type, start_ns, end_ns, session_id, error_type,
       metric_name, metric_value, duration_ms FROM spans
"""
HAND: dict[str, str] = {
    "totals": "SELECT count(*), count(*) FILTER (WHERE category='error') FROM flat",
    "event_breakdown": "SELECT event_type, count(*), 100.0*count(*)/sum(count(*)) OVER () FROM flat "
    "WHERE category='event' GROUP BY 1",
    "events_over_time": "SELECT start_ns // 60000000000, count(*) FROM flat GROUP BY 1",
    "errors_by_type": "SELECT error_type, count(*) FROM flat WHERE category='error' GROUP BY 1",
    "performance": "SELECT metric_name, count(*), avg(metric_value), min(metric_value), max(metric_value), "
    "quantile_cont(metric_value, 0.95) FROM flat WHERE category='performance' GROUP BY 1",
    "sessions": "SELECT count(*), avg(d) FROM (SELECT session_id, max(end_ns)-min(start_ns) d FROM flat GROUP BY 1)",
    "api_response_times": "SELECT count(*), avg(duration_ms) FROM flat WHERE category='http'",
}


def build(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in schema.MIGRATIONS[1]:
            con.execute(statement)
        con.execute(GENERATE, {"t0": 1_790_000_000 * NS, "n": rows})
        con.execute(FLAT)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def median_time(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def run(report: Report, rows: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        build(path, rows)
        print(f"generated {rows:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        con = duckdb.connect(str(path), read_only=True)

        @contextmanager
        def connect():  # type: ignore[no-untyped-def]
            cursor = con.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

        analytics = Analytics(connect)
        f = AnalyticsFilter()
        ours: dict[str, Callable[[], object]] = {
            "totals": lambda: analytics.totals(f),
            "event_breakdown": lambda: analytics.event_breakdown(f),
            "events_over_time": lambda: analytics.events_over_time(f),
            "errors_by_type": lambda: analytics.errors_by_type(f),
            "performance": lambda: analytics.performance(f),
            "sessions": lambda: analytics.sessions(f),
            "api_response_times": lambda: analytics.api_response_times(f),
            "redactions": lambda: analytics.redactions(f),
            "slowest_distribution": lambda: analytics.slowest_distribution(f),
            "whole report (one page load)": lambda: analytics.report(f),
        }
        label = f"{rows / 1e6:g}M"
        for name, fn in ours.items():
            fig = report.add(Figure(f"{label} {name}", "ms", median_time(fn, repeats), goal="< 1000 ms"))
            if name in HAND:
                sql = HAND[name]
                samples = median_time(lambda sql=sql: con.execute(sql).fetchall(), repeats)
                base = report.add(Figure(f"{label} {name} (by hand, flat)", "ms", samples))
                report.ratio(fig.name, base.name)
        con.close()


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows only")
    args = parser.parse_args(argv)
    report = Report("Analytics: dashboard queries vs hand-written aggregates (issue 7 item 5)")
    sizes = [100_000] if args.quick else [1_000_000, 10_000_000]
    for rows in sizes:
        run(report, rows, 3 if args.quick else 5)
    report.print()
    report.save("analytics")
    return report


if __name__ == "__main__":
    main()
