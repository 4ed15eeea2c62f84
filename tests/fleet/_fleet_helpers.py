"""Real hub processes and senders for the fleet tests."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "telemetry.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hub:
    lake: Path
    port: int
    process: subprocess.Popen[str]
    endpoint: str
    dashboard: str = ""  # http://127.0.0.1:<port>/?token=<dashboard token>

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


def start_hub(lake: Path, port: int | None = None, *extra: str) -> Hub:
    """``peft-telemetry hub`` as a real process (``extra``: more options); returns once it answers."""
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [*CLI, "hub", "--lake", str(lake), "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert process.stdout is not None
    endpoint = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the hub exited: {process.wait()}")
        if line.startswith("endpoint: "):
            endpoint = line.split(" ", 1)[1].strip()
            break
    dashboard = process.stdout.readline().removeprefix("dashboard: ").strip()
    hub = Hub(lake, port, process, endpoint, dashboard)
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return hub
        except httpx.HTTPError:
            time.sleep(0.1)
    hub.kill()
    raise AssertionError("the hub did not answer")


def install_id_of(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()


def send_with_official_exporter(endpoint: str, install_key: bytes | None, events: int, version: str = "1.0") -> None:
    """Spans sent by OpenTelemetry's own OTLP/HTTP exporter, as any sender (a Collector, another app) would."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes: dict[str, Any] = {"service.version": version, "os.type": "linux"}
    if install_key is not None:
        attributes["peft.share.install_id"] = install_id_of(install_key)
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint + "/v1/traces")))
    tracer = provider.get_tracer("fleet-test")
    for _ in range(events):
        attrs = {"peft.event_type": "model_loaded", "peft.category": "event", "note": "write to bob@example.com"}
        with tracer.start_as_current_span("model_loaded", attributes=attrs):
            pass
    provider.shutdown()


def query_lake(lake: Path, report: str, *extra: str) -> dict[str, Any]:
    """``peft-telemetry query --lake`` as a real process, JSON answer."""
    done = subprocess.run(
        [*CLI, "query", "--lake", str(lake), "--report", report, "--format", "json", *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def lake_rows(lake: Path, columns: Sequence[str] = ("share_id", "install_id")) -> list[tuple[Any, ...]]:
    import duckdb

    files = sorted(str(p) for p in (lake / "spans").glob("day=*/*.parquet"))
    if not files:
        return []
    return duckdb.sql(f"SELECT {', '.join(columns)} FROM read_parquet({files!r})").fetchall()


# -- installs ----------------------------------------------------------------------------------------------

SHARE_ENV = {
    "PEFT_TELEMETRY_SHARE_SETTLE_S": "0.3",
    "PEFT_TELEMETRY_SHARE_INTERVAL_S": "0.2",
}


def cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args, "--home", str(home)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **SHARE_ENV},
        timeout=120,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def share_status(home: Path) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(cli(home, "share", "status", "--json").stdout)
    return answer


def start_install(home: Path, events: int, linger_s: float, tag: str = "run", **env: str) -> subprocess.Popen[str]:
    """An install process that records ``events`` and then lingers (its sharing worker sends meanwhile)."""
    child = str(Path(__file__).with_name("_install_child.py"))
    return subprocess.Popen(
        [sys.executable, child, str(home), str(events), str(linger_s), tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        # A variable given as "" is left unset (the setting's default applies).
        env={k: v for k, v in {**os.environ, "PYTHONPATH": str(ROOT), **SHARE_ENV, **env}.items() if v != ""},
    )


def wait_for(condition: Any, what: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def rows_of(lake: Path, install_id: str, distinct: bool = True) -> int:
    rows = [r for r in lake_rows(lake) if r[1] == install_id]
    return len({r[0] for r in rows}) if distinct else len(rows)
