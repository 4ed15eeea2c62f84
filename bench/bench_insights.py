"""The whole insights report at 1M and 10M spans, side by side with the dashboard's summary report.

    .venv/bin/python bench/bench_insights.py            # 1M and 10M rows (builds them: minutes on 2 cores)
    .venv/bin/python bench/bench_insights.py --quick    # 100k rows, well under a minute
    .venv/bin/python bench/bench_insights.py --keep /tmp/analytics-bench   # share bench_analytics's files

The logs are ``bench_analytics``'s (same generator, 90 days, 50 event types, durations, HTTP routes,
errors, five app versions) plus one experiment exposure per session (two variants, one unit per 5
sessions), so every part of the report has work to do. Both reports read through a cursor of one
read-only connection configured as the event log configures its own (1 thread, 128 MB).

Also: the caller's cost of ``experiment_for`` (after its first call in a session) against
``track_event_sync`` on the same recording service, consent on and off.
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
from analytics.insights import Insights, InsightsFilter
from bench._common import Figure, Report, alternate
from bench.bench_analytics import build
from exporters.eventlog import schema

EXPOSURES = f"""
INSERT INTO {schema.SPANS} BY NAME
SELECT printf('%032x', 10000000000 + s) AS trace_id, printf('%016x', 10000000000 + s) AS span_id,
       '{schema.EXPOSURE_EVENT_TYPE}' AS name, 'INTERNAL' AS kind, min(start_ns) AS start_ns, min(start_ns) AS end_ns,
       0.0 AS duration_ms, 'UNSET' AS status_code, 'event' AS category, '{schema.EXPOSURE_EVENT_TYPE}' AS event_type,
       session_id,
       '{{"{schema.ATTR_EXPERIMENT_NAME}":"onboarding","{schema.ATTR_EXPERIMENT_VARIANT}":"'
         || CASE WHEN hash(s // 5) % 2 = 0 THEN 'control' ELSE 'checklist' END
         || '","{schema.ATTR_EXPERIMENT_VARIANTS}":["control","checklist"],'
         || '"{schema.ATTR_EXPERIMENT_WEIGHTS}":[0.5,0.5],'
         || '"{schema.ATTR_EXPERIMENT_UNIT}":"' || printf('%016x', s // 5) || '"}}' AS attributes,
       any_value(resource_id) AS resource_id
FROM (SELECT *, ('0x' || session_id)::UHUGEINT::BIGINT AS s FROM {schema.SPANS}) GROUP BY session_id, s
"""

GOAL_1M = "< 1000 ms"
GOAL_10M = "< 3000 ms"


def prepare(path: Path, rows: int) -> None:
    if path.exists():
        with duckdb.connect(str(path)) as con:
            found = con.execute(
                f"SELECT count(*) FROM {schema.SPANS} WHERE event_type = '{schema.EXPOSURE_EVENT_TYPE}'"
            ).fetchone()
            if found and found[0]:
                return
    else:
        print(f"generating {rows:,} spans ...", flush=True)
        print(f"  done in {build(path, rows):.1f} s", flush=True)
    with duckdb.connect(str(path)) as con:
        con.execute(EXPOSURES)
        con.execute("CHECKPOINT")


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1000

    return run


def run(report: Report, path: Path, rows: int, repeats: int, threads: int) -> None:
    con = duckdb.connect(str(path), read_only=True, config={"threads": threads, "memory_limit": "128MB"})

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = con.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    insights, analytics = Insights(connect), Analytics(connect)
    label = f"{rows / 1e6:g}M"
    found = insights.report(InsightsFilter())
    print(
        f"  {label}: {len(found.regressions.items)} regressions / {found.regressions.series_examined} series, "
        f"{len(found.anomalies.items)} anomalies / {found.anomalies.hours_examined:,} series-hours, "
        f"{len(found.experiments.items)} experiments ({sum(e.units for e in found.experiments.items)} units)",
        flush=True,
    )
    analytics.report(AnalyticsFilter())
    contenders = {
        "insights": timed(lambda: insights.report(InsightsFilter())),
        "summary": timed(lambda: analytics.report(AnalyticsFilter())),
    }
    samples = alternate(contenders, repeats)
    goal = GOAL_1M if rows <= 1_000_000 else GOAL_10M
    report.add(Figure(f"{label} whole insights report", "ms", samples["insights"], goal=goal))
    report.add(Figure(f"{label} summary report (dashboard)", "ms", samples["summary"]))
    report.ratio(f"{label} whole insights report", f"{label} summary report (dashboard)", goal)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"  insights {medians['insights']:9.1f} ms, summary {medians['summary']:9.1f} ms")
    con.close()


def experiment_cost(report: Report, calls: int, repeats: int) -> None:
    from telemetry.experiments import experiment_for
    from telemetry.testing import recording_service

    home = Path(tempfile.mkdtemp(prefix="bench-experiment-"))
    try:
        for enabled in (True, False):
            with recording_service(home / str(enabled), enabled=enabled, queue_size=4 * calls) as service:
                experiment_for(service, "onboarding", ["control", "checklist"])

                def experiments() -> float:
                    start = time.perf_counter()
                    for _ in range(calls):
                        experiment_for(service, "onboarding", ["control", "checklist"])
                    return (time.perf_counter() - start) / calls * 1e6

                def events() -> float:
                    start = time.perf_counter()
                    for _ in range(calls):
                        service.track_event_sync("feature_used", {"feature": "checklist"})
                    elapsed = (time.perf_counter() - start) / calls * 1e6
                    service.flush()
                    return elapsed

                samples = alternate({"experiment": experiments, "event": events}, repeats)
                state = "on" if enabled else "off"
                report.add(Figure(f"experiment() per call, consent {state}", "us", samples["experiment"]))
                report.add(Figure(f"track_event_sync per call, consent {state}", "us", samples["event"]))
                report.ratio(f"experiment() per call, consent {state}", f"track_event_sync per call, consent {state}",
                             "about 1x")  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows only (CI smoke run, < 1 min)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per report, after one warm-up")
    parser.add_argument("--threads", type=int, default=1, help="DuckDB threads (the event log uses 1)")
    parser.add_argument("--keep", type=Path, help="keep generated databases in this folder and reuse them")
    args = parser.parse_args(argv)
    report = Report(f"Insights: the whole insights report vs the summary report (DuckDB threads={args.threads})")
    sizes = [100_000] if args.quick else [1_000_000, 10_000_000]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-insights-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for rows in sizes:
            path = folder / f"spans-{rows}.duckdb"
            prepare(path, rows)
            run(report, path, rows, args.repeats, args.threads)
        experiment_cost(report, 2_000 if args.quick else 20_000, args.repeats)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    report.print()
    report.save("insights-quick" if args.quick else "insights")
    return report


if __name__ == "__main__":
    main()
