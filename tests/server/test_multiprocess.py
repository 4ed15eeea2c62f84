"""The service and an app process share one data home at the same time; neither locks the other out."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import orjson
import pytest

from tests.server.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("consent_on")

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 300

APP_PROCESS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from telemetry.service import TelemetryService
    from telemetry.settings import TelemetrySettings

    home, kind, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    service = TelemetryService(TelemetrySettings(
        home=home, install_global=False, sample_resources=False, flush_interval_s=0.02, do_not_track=False))
    assert service.is_enabled(), "consent given through the server must be seen by the app process"
    print("ready", flush=True)
    sys.stdin.readline()  # start together with the server's load
    for i in range(count):
        service.track_event_sync(kind, {"i": i})
        if i % 10 == 0:
            time.sleep(0.005)  # spread over many small batches, interleaved with the server's
    assert service.flush(timeout_s=60)
    print(service.stats().model_dump_json(), flush=True)
    service.shutdown(timeout=30)
    """
)


def test_server_and_app_process_write_the_same_event_log(server: LiveServer) -> None:
    app_kind, server_kind = f"app_{uuid.uuid4().hex[:6]}", f"srv_{uuid.uuid4().hex[:6]}"
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "PEFT_TELEMETRY_DISABLED")}
    env["PYTHONPATH"] = str(ROOT)
    with subprocess.Popen(
        [sys.executable, "-c", APP_PROCESS, str(server.service.settings.home), app_kind, str(EVENTS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    ) as app:  # fmt: skip
        assert app.stdout is not None and app.stdin is not None
        assert app.stdout.readline().strip() == "ready"
        failures: list[int] = []

        def load() -> None:
            with server.client(headers=server.auth) as http:
                for i in range(EVENTS):
                    response = http.post(
                        "/api/telemetry/events", json={"event_type": server_kind, "properties": {"i": i}}
                    )
                    if response.status_code != 200:
                        failures.append(response.status_code)

        loader = threading.Thread(target=load)
        loader.start()
        app.stdin.write("go\n")
        app.stdin.flush()
        loader.join(120)
        out, err = app.communicate(timeout=120)
    assert app.returncode == 0, err[-2000:]
    assert failures == []
    stats = orjson.loads(out.strip().splitlines()[-1])
    assert stats["dropped_export_failed"] == 0 and stats["dropped_queue_full"] == 0
    server.flush()
    counts = dict(
        server.query(
            "SELECT event_type, count(DISTINCT attributes->>'i') FROM spans WHERE event_type IN (?, ?) GROUP BY 1",
            [app_kind, server_kind],
        )
    )
    assert counts == {app_kind: EVENTS, server_kind: EVENTS}
    assert server.service.stats().dropped_export_failed == 0
