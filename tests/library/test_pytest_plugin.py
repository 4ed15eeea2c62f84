"""The ``captured_telemetry`` fixture, used from a test file in a temporary project (pytest in a subprocess,
finding the plugin through its ``pytest11`` entry point as a user's project would)."""

import subprocess
import sys
import textwrap
from pathlib import Path

APP = """
from opentelemetry import trace

from telemetry import get_telemetry, track_error_sync, track_event_sync

tracer = trace.get_tracer("my_app")  # obtained at import, before any test runs


def train(model_path):
    track_event_sync("training_started", {"algorithm": "lora", "model_path": model_path})
    get_telemetry().track_performance_sync("step_time", 12.5, "ms")
    with tracer.start_as_current_span("load_adapter"):
        pass
    try:
        raise FileNotFoundError(model_path)
    except FileNotFoundError as exc:
        track_error_sync(exc, {"stage": "load"})
"""

TESTS = """
import telemetry.api

from my_app import train

PREVIOUS = telemetry.api._default


def test_every_road_is_captured(captured_telemetry):
    train("/home/alice/models/llama")
    types = captured_telemetry.event_types
    assert "training_started" in types, types
    assert len(captured_telemetry.measurements) == 1
    assert [e["attributes"]["error.type"] for e in captured_telemetry.errors] == ["FileNotFoundError"]
    assert any(e["name"] == "load_adapter" for e in captured_telemetry.events)
    stored = repr(captured_telemetry.events)
    assert "alice" not in stored  # anonymized, as stored


def test_a_second_test_starts_empty_and_still_sees_the_otel_road(captured_telemetry):
    assert captured_telemetry.events == []
    train("/tmp/x")
    assert any(e["name"] == "load_adapter" for e in captured_telemetry.events)


def test_the_previous_state_is_restored():
    assert telemetry.api._default is PREVIOUS
"""


def test_fixture_from_a_temporary_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "my_app.py").write_text(textwrap.dedent(APP))
    (project / "test_app.py").write_text(textwrap.dedent(TESTS))
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_app.py"],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout


def test_the_package_is_typed() -> None:
    import telemetry

    assert (Path(telemetry.__file__).parent / "py.typed").is_file()
