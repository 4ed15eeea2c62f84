"""The benchmark suite: every bench in order, one summary table.

    .venv/bin/python bench/run.py            # full: under 10 minutes on 2 cores (`make bench`)
    .venv/bin/python bench/run.py --quick    # smoke run for CI: checks that every bench runs, not speed
    .venv/bin/python bench/run.py --only peers,export

Each bench runs as a subprocess of its own (several install OpenTelemetry globals or hold a DuckDB file;
a crash or a hang of one must not take the others down), with its output shown as it runs. The results
files it writes into ``bench/results/`` are collected into ``summary.json`` (machine-readable) and
``summary.md`` (the table: figure, median, spread, ratio, goal, met?), and the table is printed.

A bench whose script is missing is listed as missing; one that fails or times out is listed as failed and
makes the suite exit with status 1. "met?" is read from the figure's goal (``goal <= 1.3x``, ``>= 0.7x``,
``< 50 MB``, ``<= 1 us``): ratios are compared for ``x`` goals, medians (units converted) otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))

from bench._common import RESULTS_DIR, machine  # noqa: E402

SUMMARY_JSON = RESULTS_DIR / "summary.json"
SUMMARY_MD = RESULTS_DIR / "summary.md"


@dataclass(frozen=True)
class Bench:
    name: str
    what: str
    timeout_quick_s: float
    timeout_full_s: float

    @property
    def script(self) -> Path:
        return BENCH_DIR / f"bench_{self.name}.py"


#: In order: the pipeline first (the figure everything else leans on), the browser last.
BENCHES: tuple[Bench, ...] = (
    Bench("pipeline", "caller's cost and end-to-end throughput vs the bare OTel SDK (issue 2)", 90, 240),
    Bench("peers", "caller's cost per event vs OTel SDK, logfire, PostHog, Sentry (issue 7)", 90, 240),
    Bench("startup", "start-up with consent off and idle CPU with consent on vs bare OTel (issue 18)", 120, 300),
    Bench("memory", "RSS with a healthy and a blocked exporter (issue 7)", 90, 600),
    Bench("storage", "bytes on disk per million events (issue 7)", 90, 300),
    Bench("export", "OTLP JSON export vs upstream's file exporter (issue 7)", 90, 240),
    Bench("anonymizer", "anonymizer cost per span vs logfire's scrubber (issue 3)", 90, 240),
    Bench("analytics", "dashboard queries at 1M and 10M events vs hand-written SQL (issue 7)", 90, 400),
    Bench("insights", "insights report at 1M and 10M events vs the summary report (issue 19)", 90, 600),
    Bench("server", "REST and OTLP requests/s vs a bare FastAPI endpoint (issue 4)", 90, 240),
    Bench("dashboard", "dashboard load and draw at 1M events, React page vs the page before (issues 5, 21)", 150, 420),
    Bench("bundle", "UI bundle sizes, gzip: components package and page vs the page before (issue 21)", 120, 120),
    Bench("fleet", "hub ingest vs the OTLP receiver, lake bytes, reports on DuckDB and Spark (issue 20)", 120, 900),
    Bench("hub_ingest", "hub ingest per process: direct protobuf -> Arrow vs the SDK-span road (issue 20)", 120, 300),
)


@dataclass
class Outcome:
    bench: Bench
    status: str = "missing"  # ok | failed | timeout | missing
    exit_code: int | None = None
    seconds: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)


# -- goals ---------------------------------------------------------------------------------------------

_GOAL = re.compile(r"(<=|>=|<|>)\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*(x\b|[A-Za-zµ/]+)?")
_SCALES: dict[str, tuple[str, float]] = {
    "ns": ("time", 1e-9),
    "us": ("time", 1e-6),
    "µs": ("time", 1e-6),
    "ms": ("time", 1e-3),
    "s": ("time", 1.0),
    "B": ("size", 1.0),
    "KB": ("size", 1e3),
    "MB": ("size", 1e6),
    "GB": ("size", 1e9),
    "KiB": ("size", 1024.0),
    "MiB": ("size", 1024.0**2),
    "GiB": ("size", 1024.0**3),
}


def goal_met(figure: dict[str, Any]) -> str:
    """'yes', 'NO', '?' (a goal we cannot read against this figure) or '' (no goal)."""
    match = _find_goal(figure)
    if not match:
        return ""
    op, number, unit = match.group(1), float(match.group(2).replace(",", "").replace("_", "")), match.group(3)
    if unit == "x":
        value = figure.get("ratio")
    else:
        value = figure.get("median")
        have = str(figure.get("unit") or "")
        if unit and unit != have:
            if unit not in _SCALES or have not in _SCALES or _SCALES[unit][0] != _SCALES[have][0]:
                return "?"
            value = None if value is None else value * _SCALES[have][1] / _SCALES[unit][1]
    if value is None or value != value:  # None or NaN
        return "?"
    ok = {
        "<": value < number,
        "<=": value <= number,
        ">": value > number,
        ">=": value >= number,
    }[op]
    return "yes" if ok else "NO"


def goal_text(figure: dict[str, Any]) -> str:
    match = _find_goal(figure)
    return match.group(0).strip() if match else ""


def _find_goal(figure: dict[str, Any]) -> re.Match[str] | None:
    """The first comparison in the figure's goal, or in its notes after the word "goal"."""
    match = _GOAL.search(str(figure.get("goal") or ""))
    notes = str(figure.get("notes") or "")
    if match is None and "goal" in notes:
        match = _GOAL.search(notes[notes.index("goal") :])
    return match


# -- running -------------------------------------------------------------------------------------------


def run_bench(bench: Bench, *, quick: bool) -> Outcome:
    outcome = Outcome(bench)
    if not bench.script.exists():
        print(f"\n=== {bench.name}: missing ({bench.script.relative_to(ROOT)} not found), skipped")
        return outcome
    timeout = bench.timeout_quick_s if quick else bench.timeout_full_s
    command = [sys.executable, str(bench.script)] + (["--quick"] if quick else [])
    print(f"\n=== {bench.name}: {bench.what}\n$ {' '.join(command[1:])}", flush=True)
    before = _snapshot()
    start = time.perf_counter()
    # Its own process group, so that a timeout also ends the servers and browsers it started.
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        outcome.exit_code = process.wait(timeout)
        outcome.status = "ok" if outcome.exit_code == 0 else "failed"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        outcome.status = "timeout"
    outcome.seconds = time.perf_counter() - start
    outcome.results = collect(before)
    print(f"=== {bench.name}: {outcome.status} in {outcome.seconds:.1f} s", flush=True)
    return outcome


def _snapshot() -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in RESULTS_DIR.glob("*.json")} if RESULTS_DIR.exists() else {}


def collect(before: dict[Path, int]) -> list[dict[str, Any]]:
    """Results files the bench wrote (new or changed since ``before``), whatever names it gave them."""
    found = []
    for path, mtime in sorted(_snapshot().items()):
        if path == SUMMARY_JSON or before.get(path) == mtime:
            continue
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        payload["file"] = path.name
        found.append(payload)
    return found


# -- the table -----------------------------------------------------------------------------------------


def rows(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    out = []
    for outcome in outcomes:
        for result in outcome.results:
            for figure in result.get("figures", []):
                samples = figure.get("samples") or [figure.get("median")]
                out.append(
                    {
                        "bench": outcome.bench.name,
                        "title": result.get("title", ""),
                        "name": figure["name"],
                        "unit": figure.get("unit", ""),
                        "median": figure.get("median"),
                        "min": min(samples),
                        "max": max(samples),
                        "runs": len(samples),
                        "ratio": figure.get("ratio"),
                        "baseline": figure.get("baseline"),
                        "goal": goal_text(figure),
                        "met": goal_met(figure),
                    }
                )
    return out


def _num(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value else "0"


def markdown(outcomes: list[Outcome], table: list[dict[str, Any]], *, quick: bool, seconds: float) -> str:
    info = machine()
    lines = [
        f"# Benchmark summary ({'quick smoke run: sizes too small to quote' if quick else 'full run'})",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; Python {info['python']} on {info['system']} {info['machine']}, "
        f"{info['cpus']} CPUs; total {seconds:.0f} s. Reproduce: `make bench` "
        f"(or `.venv/bin/python bench/run.py{' --quick' if quick else ''}`).",
        "",
        "Medians of repeated runs, spread = min..max; ratio = median / the baseline measured in the same run.",
        "",
    ]
    for outcome in outcomes:
        figures = [r for r in table if r["bench"] == outcome.bench.name]
        titles = sorted({r["title"] for r in figures})
        head = titles[0] if len(titles) == 1 else outcome.bench.what
        lines.append(f"## {outcome.bench.name}: {head}")
        lines.append("")
        if outcome.status != "ok":
            lines.append(f"**{outcome.status}**" + (f" (exit {outcome.exit_code})" if outcome.exit_code else ""))
            lines.append("")
        if not figures:
            continue
        lines.append("| figure | median | spread | ratio | vs | goal | met? |")
        lines.append("|---|---:|---:|---:|---|---|:---:|")
        for r in figures:
            ratio = f"{r['ratio']:.2f}x" if isinstance(r["ratio"], int | float) else ""
            spread = f"{_num(r['min'])}..{_num(r['max'])}" if r["runs"] > 1 else "(1 run)"
            base = r["baseline"] or ""
            lines.append(
                f"| {r['name']} | {_num(r['median'])} {r['unit']} | {spread} | {ratio} | {base} | "
                f"{r['goal']} | {r['met']} |"
            )
        lines.append("")
    return "\n".join(lines)


def print_table(table: list[dict[str, Any]], outcomes: list[Outcome]) -> None:
    print("\n" + "=" * 110)
    print(f"{'bench':<10} {'figure':<52} {'median':>14} {'spread':>21} {'ratio':>7} {'goal':>12} met?")
    for r in table:
        median = f"{_num(r['median'])} {r['unit']}"
        spread = f"{_num(r['min'])}..{_num(r['max'])}" if r["runs"] > 1 else "1 run"
        ratio = f"{r['ratio']:.2f}x" if isinstance(r["ratio"], int | float) else ""
        print(f"{r['bench']:<10} {r['name'][:52]:<52} {median:>14} {spread:>21} {ratio:>7} {r['goal']:>12} {r['met']}")
    for outcome in outcomes:
        if outcome.status != "ok":
            print(f"{outcome.bench.name:<10} {outcome.status.upper()}")
    print("=" * 110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that every bench runs")
    parser.add_argument("--only", default="", help="comma-separated bench names (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated bench names to leave out")
    args = parser.parse_args(argv)
    names = {b.name for b in BENCHES}
    only = {n for n in args.only.split(",") if n}
    skip = {n for n in args.skip.split(",") if n}
    unknown = (only | skip) - names
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}; known: {', '.join(sorted(names))}")
    selected = [b for b in BENCHES if (not only or b.name in only) and b.name not in skip]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    outcomes = [run_bench(bench, quick=args.quick) for bench in selected]
    seconds = time.perf_counter() - start
    table = rows(outcomes)
    summary = {
        "mode": "quick" if args.quick else "full",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "seconds": round(seconds, 1),
        "benches": [
            {
                "name": o.bench.name,
                "status": o.status,
                "exit_code": o.exit_code,
                "seconds": round(o.seconds, 1),
                "results_files": [r["file"] for r in o.results],
            }
            for o in outcomes
        ],
        "figures": table,
    }
    SUMMARY_JSON.write_text(json.dumps(summary, indent=2))
    SUMMARY_MD.write_text(markdown(outcomes, table, quick=args.quick, seconds=seconds) + "\n")
    print_table(table, outcomes)
    for outcome in outcomes:
        print(f"{outcome.bench.name:<10} {outcome.status:<8} {outcome.seconds:6.1f} s")
    print(f"total {seconds:.1f} s; wrote {SUMMARY_JSON} and {SUMMARY_MD}")
    failed = [o.bench.name for o in outcomes if o.status in ("failed", "timeout")]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
