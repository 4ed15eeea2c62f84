"""Sharing through the REST API (token-protected), an install whose app is the local server, delete_all
asking the hub to delete what was shared, and nothing of sharing loaded while consent is off."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from _fleet_helpers import ROOT, SHARE_ENV, Hub, lake_rows, rows_of, wait_for

from telemetry.server import create_app
from telemetry.server.serve import bind
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


@pytest.fixture
def local_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, TelemetryService]]:
    for name, value in SHARE_ENV.items():
        monkeypatch.setenv(name, value)
    settings = TelemetrySettings(home=tmp_path / "home", install_global=False, sample_resources=False,
                                 flush_interval_s=0.05, consent_poll_s=0.2, do_not_track=False)  # fmt: skip
    service = TelemetryService(settings)
    service.enable().result(10)
    app = create_app(service)
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app.state.telemetry_token, service
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        service.shutdown(timeout=10)


def test_share_api_and_delete_all(hub: Hub, local_server: tuple[str, str, TelemetryService]) -> None:
    base, token, service = local_server
    url = base + "/api/telemetry/share"
    assert httpx.get(url).status_code == 401  # contract 2: sharing state is recorded data
    assert httpx.post(url, json={"endpoint": hub.endpoint}).status_code == 401
    auth = {"x-peft-token": token}
    assert httpx.get(url, headers=auth).json()["sharing"] is False
    assert httpx.post(url, json={"endpoint": "ftp://nope"}, headers=auth).status_code == 422
    enabled = httpx.post(url, json={"endpoint": hub.endpoint}, headers=auth)
    assert enabled.status_code == 200 and enabled.json()["sharing"] is True
    install_id = enabled.json()["install_id"]

    for index in range(12):
        service.track_event_sync("api_event", {"index": index})
    service.flush()

    def api_events() -> int:
        return sum(1 for r in lake_rows(hub.lake, ("install_id", "event_type")) if r == (install_id, "api_event"))

    # The server's own HTTP spans are shared as well (they are recorded locally like any span).
    wait_for(lambda: api_events() == 12, "the server's events at the hub")

    erased = httpx.delete(base + "/api/telemetry/data", headers=auth)
    assert erased.status_code == 200
    # delete_all queued the request; the hub's confirmation arrives in the background.
    wait_for(lambda: httpx.get(url, headers=auth).json()["confirmed_deletions"], "the hub's confirmation")
    assert rows_of(hub.lake, install_id) == 0
    status = httpx.get(url, headers=auth).json()
    assert [c["install_id"] for c in status["confirmed_deletions"]] == [install_id]
    assert status["sharing"] is True and status["install_id"] != install_id  # goes on under a new key

    stopped = httpx.delete(url, headers=auth)
    assert stopped.status_code == 200 and stopped.json()["sharing"] is False


def test_consent_off_loads_nothing_of_sharing(tmp_path: Path) -> None:
    code = (
        "import sys, telemetry\n"
        "t = telemetry.get_telemetry()\n"
        "telemetry.track_event_sync('x', {'a': 1})\n"
        "loaded = [m for m in sys.modules if m.startswith(('telemetry.sharing', 'exporters.sharing', "
        "'telemetry.hub', 'exporters.lake', 'analytics.fleet', 'pyspark', 'sqlglot'))]\n"
        "print(loaded)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEFT_STUDIO_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"
