"""What telemetry costs an app whose user never opted in, and an idle app whose user did.

Every figure comes from fresh processes started side by side in the same run:

1. Start: a fresh interpreter that sets up the bare OTel SDK (TracerProvider + BatchSpanProcessor +
   MeterProvider, one span), against one that runs ``import telemetry``, ``get_telemetry()`` and one
   ``track_event_sync`` with consent never chosen, and one whose user declined. Wall time from spawn to
   exit, resident memory at the end, threads alive, heavy modules imported and files written in the data
   home. Both include the interpreter's own start.
2. Idle with consent on: CPU per second of a process that enabled telemetry (default settings, CPU and
   memory sampling included), recorded a few events and then does nothing, measured once the event log's
   linger is over, against the bare SDK pipeline doing nothing (goal: <= 0.5 ms/s, no polling).
3. Import time of every public module (``python -X importtime``, cumulative microseconds), each in a
   fresh interpreter.

Targets (issue 18): start <= 2x bare; RSS <= bare + 20 MiB; no heavy module, no thread, no file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import Figure, Report, alternate  # noqa: E402

HEAVY = ("duckdb", "pyarrow", "analytics", "fastapi", "uvicorn")

_PROBE = """
import json, os, sys, threading
from pathlib import Path

def rss_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

def report():
    home = Path(os.environ["PEFT_STUDIO_HOME"])
    files = [str(p) for p in home.rglob("*")] if home.exists() else []
    heavy = [m for m in HEAVY if m in sys.modules]
    print(json.dumps({"rss": rss_mib(), "threads": threading.active_count(), "heavy": heavy, "files": files}))

HEAVY = HEAVY_MODULES
""".replace("HEAVY_MODULES", repr(HEAVY))

BARE = (
    _PROBE
    + """
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=open(os.devnull, "w"))))
meters = MeterProvider(resource=provider.resource)
provider.get_tracer("bench").start_span("app_started").end()
report()
"""
)

OURS = (
    _PROBE
    + """
import telemetry
service = telemetry.get_telemetry()
if os.environ.get("BENCH_DECLINE"):
    service.disable().result(30)
    os._exit(0)
telemetry.track_event_sync("app_started", {"algorithm": "lora"})
report()
if os.environ.get("BENCH_TRACK_COST"):
    import time
    track, props, calls = telemetry.track_event_sync, {"algorithm": "lora"}, 200_000
    start = time.perf_counter_ns()
    for _ in range(calls):
        track("training_step", props)
    print((time.perf_counter_ns() - start) / calls / 1000)
"""
)

IDLE_BARE = """
import os, sys, time
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=open(os.devnull, "w"))))
meters = MeterProvider(resource=provider.resource)
tracer = provider.get_tracer("bench")
for _ in range(5):
    tracer.start_span("app_started").end()
provider.force_flush()
time.sleep(1.0)
cpu = time.process_time(); start = time.perf_counter()
time.sleep(float(sys.argv[1]))
print((time.process_time() - cpu) / (time.perf_counter() - start) * 1e3)
"""

IDLE_OURS = """
import sys, time
import telemetry
service = telemetry.get_telemetry()
service.enable().result(30)
for _ in range(5):
    telemetry.track_event_sync("app_started", {"algorithm": "lora"})
service.flush()
time.sleep(7.0)  # past the event log's linger (merge interval + 1 s): idle means the file is closed again
cpu = time.process_time(); start = time.perf_counter()
time.sleep(float(sys.argv[1]))
print((time.process_time() - cpu) / (time.perf_counter() - start) * 1e3)
"""

PUBLIC_MODULES = (
    "telemetry",
    "telemetry.api",
    "telemetry.service",
    "telemetry.settings",
    "telemetry.consent",
    "telemetry.events",
    "telemetry.testing",
    "telemetry.server",
    "telemetry.cli.main",
    "analytics",
    "exporters",
    "exporters.eventlog",
    "exporters.duckdb_exporter",
    "exporters.otlp_json",
    "processors",
    "processors.anonymizer",
    "processors.background",
    "processors.consent",
    "opentelemetry.sdk.trace",
    "opentelemetry.sdk.metrics",
)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEFT_", "OTEL_")) and k != "DO_NOT_TRACK"}
    # `make bench` installs logfire (the peers bench), and pydantic loads every installed pydantic plugin at
    # the first model of a process: logfire's costs ~200 ms here, in any app that uses pydantic at all. The
    # children measure our own cost; the README says what such a plugin adds.
    plugins = {"PYDANTIC_DISABLE_PLUGINS": "__all__"}
    return env | {"PEFT_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)} | plugins | extra


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(code: str, home: Path, *args: str, **extra: str) -> tuple[float, str]:
    elapsed, _, out = _run_with_cpu(code, home, *args, **extra)
    return elapsed, out


def _run_with_cpu(code: str, home: Path, *args: str, **extra: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system, all threads) of the child, and its output."""
    cpu, start = _children_cpu_s(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=_env(home, **extra), capture_output=True, text=True, cwd=ROOT
    )
    elapsed, cpu = time.perf_counter() - start, _children_cpu_s() - cpu
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return elapsed, cpu, done.stdout.strip()


def start_cost(report: Report, repeats: int) -> dict[str, dict[str, object]]:
    facts: dict[str, dict[str, object]] = {}
    rss: dict[str, list[float]] = {"bare": [], "off": [], "declined": []}
    cpu: dict[str, list[float]] = {"bare": [], "off": [], "declined": []}

    def contender(name: str, code: str, declined: bool = False) -> object:
        def run() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp) / "home"
                if declined:
                    _run(OURS, home, BENCH_DECLINE="1")
                elapsed, cpu_s, out = _run_with_cpu(code, home)
            fact = json.loads(out.splitlines()[-1])
            rss[name].append(fact["rss"])
            cpu[name].append(cpu_s * 1000)
            facts[name] = fact
            return elapsed * 1000

        return run

    samples = alternate(
        {
            "bare": contender("bare", BARE),  # type: ignore[dict-item]
            "off": contender("off", OURS),  # type: ignore[dict-item]
            "declined": contender("declined", OURS, declined=True),  # type: ignore[dict-item]
        },
        repeats,
    )
    bare = "bare OTel setup (TP + BSP + MeterProvider, one span): start"
    off = "ours, consent never chosen (import, get_telemetry, track): start"
    declined = "ours, consent declined: start"
    report.add(Figure(bare, "ms", samples["bare"]))
    report.add(Figure(off, "ms", samples["off"]))
    report.add(Figure(declined, "ms", samples["declined"]))
    report.ratio(off, bare, "goal <= 2x")
    report.ratio(declined, bare, "goal <= 2x")
    # CPU time moves far less than wall time when other work shares the machine.
    labels = {"bare": "bare OTel setup", "off": "ours, consent never chosen", "declined": "ours, consent declined"}
    for name, label in labels.items():
        report.add(Figure(f"{label}: start CPU (user + system)", "ms", cpu[name]))
    for label in ("ours, consent never chosen", "ours, consent declined"):
        report.ratio(f"{label}: start CPU (user + system)", "bare OTel setup: start CPU (user + system)", "goal <= 2x")
    report.add(Figure("bare OTel setup: RSS", "MiB", rss["bare"]))
    report.add(Figure("ours, consent never chosen: RSS", "MiB", rss["off"]))
    report.add(Figure("ours, consent declined: RSS", "MiB", rss["declined"]))
    extra = [off_ - bare_ for off_, bare_ in zip(rss["off"], rss["bare"], strict=True)]
    report.add(Figure("ours, consent never chosen: RSS over bare", "MiB", extra, notes="goal <= 20 MiB"))
    return facts


def off_call_cost(report: Report, repeats: int) -> None:
    samples = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            samples.append(float(_run(OURS, Path(tmp) / "home", BENCH_TRACK_COST="1")[1].splitlines()[-1]))
    report.add(Figure("track_event_sync (module API), consent never chosen", "us", samples, notes="goal <= 1 us"))


def idle_cost(report: Report, seconds: float, repeats: int) -> None:
    def run(code: str) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            return float(_run(code, Path(tmp) / "home", str(seconds))[1].splitlines()[-1])

    samples = alternate({"bare": lambda: run(IDLE_BARE), "ours": lambda: run(IDLE_OURS)}, repeats)
    bare, ours = "bare SDK pipeline, idle: CPU", "ours, consent on, idle: CPU"
    report.add(Figure(bare, "ms/s", samples["bare"]))
    report.add(Figure(ours, "ms/s", samples["ours"], notes="goal <= 0.5 ms/s"))


def import_times(report: Report, repeats: int) -> None:
    for module in PUBLIC_MODULES:
        samples = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                done = subprocess.run(
                    [sys.executable, "-X", "importtime", "-c", f"import {module}"],
                    env=_env(Path(tmp) / "home"),
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
            cumulative = 0.0
            for line in done.stderr.splitlines():
                # "import time: self [us] | cumulative | imported package": the line naming the module
                # (a submodule's package is imported first, on a line of its own, not counted here).
                parts = line.split("|")
                if len(parts) == 3 and parts[2].strip() == module:
                    cumulative = float(parts[1])
            samples.append(cumulative / 1000)
        report.add(Figure(f"import {module} (cumulative)", "ms", samples))


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI to keep the bench alive")
    args = parser.parse_args(argv)
    repeats, idle_s = (3, 1.0) if args.quick else (9, 20.0)
    report = Report("Start-up and idle cost: consent off, consent on idle (issue 18)")
    facts = start_cost(report, repeats)
    off_call_cost(report, 3)
    idle_cost(report, idle_s, 1 if args.quick else 2)
    import_times(report, 1 if args.quick else 3)
    report.print()
    for name, fact in facts.items():
        print(f"{name}: threads={fact['threads']} heavy={fact['heavy']} files={len(fact['files'])}")  # type: ignore[arg-type]
    report.save("startup")
    return report


if __name__ == "__main__":
    main()
