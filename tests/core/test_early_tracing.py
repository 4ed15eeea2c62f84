"""Plain OpenTelemetry spans started right after ``enable()``, before the pipeline is built on the telemetry
thread, are recorded like every later one (before: the OTel API handed out non-recording spans for ~0.2 s
and they were lost). Each case in a fresh interpreter: a process has one global tracer provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_zero_cost import run_python

_ENABLE_THEN_SPANS = """
import json, logging, os, sys
import telemetry
from opentelemetry import trace

warnings = []  # OTel's own complaints, e.g. "Overriding of current TracerProvider is not allowed"
class Kept(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())

logging.getLogger("opentelemetry").addHandler(Kept(logging.WARNING))

if sys.argv[1] == "app-provider":  # the app installed its own SDK provider before ours
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())
service = telemetry.get_telemetry()
pending = service.enable()
built_at_first = service._built is not None
tracer = trace.get_tracer("app")
recording = 0
for i in range(40):
    with tracer.start_as_current_span(f"early_{i}") as parent:
        recording += parent.is_recording()
        with tracer.start_as_current_span("child"):
            pass
pending.result(60)
with tracer.start_as_current_span("late"):
    pass
service.flush()
from telemetry.testing import stored_events
rows = stored_events(service)
names = [row["name"] for row in rows]
print(json.dumps({
    "built_at_first": built_at_first, "recording": recording, "names": names,
    "children_with_parent": sum(1 for row in rows if row["name"] == "child" and row["parent_span_id"]),
    "provider": type(trace.get_tracer_provider()).__name__, "dropped": service.stats().dropped_queue_full,
    "otel_warnings": warnings,
}))
"""


@pytest.mark.parametrize("setup", ["our-provider", "app-provider"])
def test_spans_started_right_after_enable_are_recorded_once_each(tmp_path: Path, setup: str) -> None:
    out = run_python(_ENABLE_THEN_SPANS, tmp_path / "home", setup)
    assert out["built_at_first"] is False  # the window this is about: enable() returned before the pipeline
    assert out["recording"] == 40
    early = sorted(name for name in out["names"] if name.startswith("early_"))
    assert early == sorted(f"early_{i}" for i in range(40))  # each once: none lost, none twice
    assert out["names"].count("child") == 40 and out["children_with_parent"] == 40
    assert out["names"].count("late") == 1
    assert out["provider"] == "TracerProvider" and out["dropped"] == 0
    assert out["otel_warnings"] == []  # the global provider is set once, never overridden


def test_do_not_track_installs_no_provider_on_enable(tmp_path: Path) -> None:
    code = (
        "import os\nos.environ['DO_NOT_TRACK'] = '1'\n"
        "import json, telemetry\nfrom opentelemetry import trace\n"
        "telemetry.get_telemetry().enable()\n"
        "with trace.get_tracer('app').start_as_current_span('x') as span:\n    recording = span.is_recording()\n"
        "print(json.dumps({'provider': type(trace.get_tracer_provider()).__name__, 'recording': recording}))\n"
    )
    assert run_python(code, tmp_path / "home") == {"provider": "ProxyTracerProvider", "recording": False}
