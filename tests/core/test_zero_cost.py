"""Consent off costs nothing: checked in fresh interpreters (imports, threads and files, never timings).

Each scenario runs in a subprocess of its own, because what a process has imported or started cannot be
undone inside the test process. Turning consent on later in the same process must then record exactly
what a process that started with consent records.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("duckdb", "pyarrow", "analytics", "fastapi", "uvicorn")

_OFF_PATH = """
import json, os, sys, threading
from pathlib import Path
import telemetry
from opentelemetry import metrics, trace

service = telemetry.get_telemetry()
telemetry.track_event_sync("hook_probe", {"email": "alice@example.com"})
telemetry.track_error_sync(ValueError("boom"))
telemetry.track_performance_sync("step_time", 12.5, "ms")
service.track_reported_error_sync("TypeError", "x is undefined")
with trace.get_tracer("app").start_as_current_span("plain-otel") as span:
    recording = span.is_recording()
counter = metrics.get_meter("app").create_counter("clicks")
counter.add(1)
home = Path(os.environ["PEFT_STUDIO_HOME"])
print(json.dumps({
    "heavy": [m for m in HEAVY_MODULES if m in sys.modules],
    "threads": [t.name for t in threading.enumerate()],
    "files": sorted(str(p.relative_to(home)) for p in home.rglob("*")) if home.exists() else [],
    "recording": recording,
    "enabled": service.is_enabled(),
}))
""".replace("HEAVY_MODULES", repr(HEAVY))


def run_python(code: str, home: Path, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEFT_", "OTEL_")) and k != "DO_NOT_TRACK"}
    env |= {"PEFT_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def choose(home: Path, enabled: bool) -> None:
    code = "import telemetry, json; s = telemetry.get_telemetry(); "
    code += f"(s.enable if {enabled} else s.disable)().result(30); s.shutdown(); print(json.dumps({{}}))"
    run_python(code, home)


@pytest.mark.parametrize("declined", [False, True], ids=["never-chosen", "declined"])
def test_consent_off_imports_nothing_heavy_starts_no_thread_writes_no_file(tmp_path: Path, declined: bool) -> None:
    home = tmp_path / "home"
    before: list[str] = []
    if declined:
        choose(home, enabled=False)
        before = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    seen = run_python(_OFF_PATH, home)
    assert seen["heavy"] == []
    assert seen["threads"] == ["MainThread"]
    assert seen["files"] == before  # nothing new, nothing touched into being
    assert seen["recording"] is False
    assert seen["enabled"] is False


def test_consent_on_does_load_the_pipeline(tmp_path: Path) -> None:
    # The same probe with consent given: proves the probe would see heavy modules and threads.
    home = tmp_path / "home"
    choose(home, enabled=True)
    seen = run_python(_OFF_PATH, home)
    assert "duckdb" in seen["heavy"] and "peft-telemetry-export" in seen["threads"]
    assert seen["recording"] is True and seen["enabled"] is True


_RECORD = """
import json, sys
import telemetry

service = telemetry.get_telemetry()
if sys.argv[1] == "enable-now":
    telemetry.track_event_sync("before_consent", {"n": 0})
    assert "duckdb" not in sys.modules
    service.enable()  # returns at once; the calls below are held until the pipeline is up
telemetry.track_event_sync("training_started", {"algorithm": "lora", "email": "alice@example.com",
                                                "nested": {"path": "/home/alice/data.csv"}})
try:
    raise ValueError("bad value for /home/alice/x")
except ValueError as exc:
    telemetry.track_error_sync(exc, {"step": 3})
telemetry.track_performance_sync("step_time", 12.5, "ms")
for i in range(50):
    telemetry.track_event_sync("step", {"i": i})
from telemetry.testing import stored_events

rows = stored_events(service)
volatile = {"trace_id", "span_id", "parent_span_id", "start_ns", "end_ns", "session_id", "resource_id", "resource",
            "time_ns"}
print(json.dumps([{k: v for k, v in row.items() if k not in volatile} for row in rows], default=str))
"""


def test_enabling_later_records_exactly_what_a_process_started_with_consent_records(tmp_path: Path) -> None:
    late, early = tmp_path / "late", tmp_path / "early"
    choose(early, enabled=True)
    from_the_start = run_python(_RECORD, early, "already-on")
    enabled_later = run_python(_RECORD, late, "enable-now")
    assert len(from_the_start) == 53
    assert enabled_later == from_the_start
    assert not any(row["event_type"] == "before_consent" for row in enabled_later)


def test_consent_given_by_another_process_is_noticed_without_a_watcher_thread(tmp_path: Path) -> None:
    import time

    from telemetry.testing import recording_service, stored_events

    with recording_service(tmp_path, enabled=False, consent_poll_s=0.05) as app:
        assert app.stats().processed == 0 and app._built is None  # no pipeline, so no watcher either
        with recording_service(tmp_path, enabled=False) as cli:
            cli.enable(source="cli").result(10)
        deadline = time.monotonic() + 10
        while not app.is_enabled() and time.monotonic() < deadline:
            app.track_event_sync("while_off")  # a caller's thread looks, at most once per consent_poll_s
            time.sleep(0.01)
        assert app.is_enabled()
        app.track_event_sync("after_consent", {"n": 1})
        assert [e["event_type"] for e in stored_events(app)] == ["after_consent"]
