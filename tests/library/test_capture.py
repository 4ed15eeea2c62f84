"""Uncaught exceptions are recorded automatically, made durable before the process dies, and the hooks
that were there before still run (real subprocesses: the process really dies of the exception)."""

import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from telemetry import TelemetryLogHandler, TelemetryService, TelemetrySettings
from telemetry.testing import recording_service, stored_events

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, gc, sys, threading
from telemetry import TelemetrySettings, configure

def previous_hook(exc_type, exc, tb):
    print("previous hook saw", exc_type.__name__, flush=True)

sys.excepthook = previous_hook
service = configure(TelemetrySettings(home=sys.argv[1], sample_resources=False, install_global=False,
                                      capture_exceptions=sys.argv[2] == "on"))
service.enable().result(10)

def work():
    raise ValueError("raised in a worker thread")

thread = threading.Thread(target=work)
thread.start()
thread.join()

async def main():
    async def failing_task():
        raise KeyError("raised in an asyncio task")
    asyncio.get_running_loop().create_task(failing_task())  # nobody keeps or awaits it
    await asyncio.sleep(0.05)
    gc.collect()

asyncio.run(main())
raise RuntimeError("raised in the main thread")
"""


def _run_child(home: Path, capture: str) -> subprocess.CompletedProcess[str]:
    script = home.parent / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    return subprocess.run(
        [sys.executable, str(script), str(home), capture],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(home.parent)},
    )  # fmt: skip


def _errors_in(home: Path) -> list[dict]:
    reader = TelemetryService(
        TelemetrySettings(home=home, install_global=False, sample_resources=False, capture_exceptions=False)
    )
    try:
        return stored_events(reader, category="error")
    finally:
        reader.shutdown()


def test_uncaught_exceptions_in_main_thread_worker_thread_and_task_are_stored(tmp_path: Path) -> None:
    result = _run_child(tmp_path / "home", "on")
    assert result.returncode == 1  # the process did die of the main-thread exception
    assert "previous hook saw RuntimeError" in result.stdout  # chained to the hook installed before
    assert "raised in a worker thread" in result.stderr  # threading's own hook still printed it
    errors = _errors_in(tmp_path / "home")
    by_type = {e["attributes"]["error.type"]: e["attributes"] for e in errors}
    assert set(by_type) == {"ValueError", "KeyError", "RuntimeError"}
    assert by_type["RuntimeError"]["context.mechanism"] == "sys.excepthook"
    assert by_type["ValueError"]["context.mechanism"] == "threading.excepthook"
    assert by_type["KeyError"]["context.mechanism"] == "asyncio"
    assert all(a["context.handled"] is False for a in by_type.values())


def test_the_setting_turns_capture_off(tmp_path: Path) -> None:
    result = _run_child(tmp_path / "home", "off")
    assert result.returncode == 1
    assert _errors_in(tmp_path / "home") == []


def test_hooks_are_installed_on_enable_and_restored_on_shutdown(tmp_path: Path) -> None:
    import asyncio

    before = (sys.excepthook, threading.excepthook, asyncio.BaseEventLoop.call_exception_handler)
    with recording_service(tmp_path, enabled=False) as service:
        assert sys.excepthook is before[0]  # consent off: nothing installed
        service.enable().result(10)
        assert sys.excepthook is not before[0]
        assert threading.excepthook is not before[1]
        assert asyncio.BaseEventLoop.call_exception_handler is not before[2]
    assert (sys.excepthook, threading.excepthook, asyncio.BaseEventLoop.call_exception_handler) == before


def test_log_handler_records_exceptions_logged_with_exc_info(tmp_path: Path) -> None:
    logger = logging.getLogger("my_app.training")
    with recording_service(tmp_path, capture_exceptions=False) as service:
        handler = TelemetryLogHandler(service=service)
        logger.addHandler(handler)
        try:
            try:
                raise FileNotFoundError("adapter_config.json")
            except FileNotFoundError:
                logger.exception("could not load the adapter")
            logger.error("an error without an exception is not an error record")
            logger.warning("nor is a warning", exc_info=ValueError("x"))
        finally:
            logger.removeHandler(handler)
        errors = stored_events(service, category="error")
    assert [e["attributes"]["error.type"] for e in errors] == ["FileNotFoundError"]
    assert errors[0]["attributes"]["context.logger"] == "my_app.training"
    assert errors[0]["attributes"]["peft.error.category"] == "filesystem"
