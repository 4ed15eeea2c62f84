"""``serve()`` as ``peft-telemetry serve`` runs it: the printed URL, the cookie swap, the loopback warning."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx

from exporters.eventlog import schema
from telemetry.service import SCOPE_NAME
from telemetry.settings import TelemetrySettings

ROOT = Path(__file__).resolve().parents[2]
INSTRUMENTATION_SCOPE = "opentelemetry.instrumentation.fastapi"

SERVE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from telemetry.server import serve
    from telemetry.settings import TelemetrySettings

    settings = TelemetrySettings(home=Path(sys.argv[1]), install_global=sys.argv[3] == "global",
                                 sample_resources=False, do_not_track=False, flush_interval_s=0.05)
    serve(settings, host=sys.argv[2], port=0)
    """
)


@dataclass
class Served:
    url: str
    base: str
    returncode: int | None = None
    stderr: str = ""


@contextmanager
def serving(home: Path, host: str, *, install_global: bool = False) -> Iterator[Served]:
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "PEFT_TELEMETRY_DISABLED")}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(home), host, "global" if install_global else "local"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    served = Served("", "")
    try:
        assert process.stdout is not None
        for _ in range(5):
            found = re.search(r"http://\S+/\?token=\S+", process.stdout.readline())
            if found:
                served.url = found.group(0)
                served.base = served.url.split("/?", 1)[0]
                break
        assert served.url, "serve did not print the dashboard URL"
        _wait_up(served.base)
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, served.stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, served.stderr = process.communicate()
        served.returncode = process.returncode


def _wait_up(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/telemetry/consent", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the server did not come up")


def test_serve_prints_a_token_url_that_becomes_a_cookie(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serving(home, "127.0.0.1") as served:
        assert served.base.startswith("http://127.0.0.1:")
        token = served.url.split("token=", 1)[1]
        assert (home / "config" / "server_token").read_text() == token
        with httpx.Client(base_url=served.base) as http:
            swapped = http.get(served.url)
            assert swapped.status_code == 303 and swapped.headers["location"] == "/"
            # The cookie now authorizes a state change, as the dashboard needs.
            consent = http.post("/api/telemetry/consent", json={"enabled": True})
            assert consent.status_code == 200 and consent.json()["enabled"] is True
    assert served.returncode == 0, served.stderr[-2000:]
    assert "warning" not in served.stderr
    assert b'"enabled": true' in (home / "config" / "telemetry_config.json").read_bytes()


def test_only_the_instrumentation_times_requests_when_the_otel_globals_are_ours(tmp_path: Path) -> None:
    # `serve` installs the service's providers as the OTel globals (the user's default). FastAPI's own
    # telemetry (0.12x and later) would then trace every request through them: intake endpoints included,
    # with the raw `url.path` and `url.query` and spans per dependency. The app turns it off; the official
    # instrumentation, with its route templates and allowlist, is the only timing.
    home = tmp_path / "home"
    with serving(home, "127.0.0.1", install_global=True) as served:
        token = {"Authorization": "Bearer " + served.url.split("token=", 1)[1]}
        with httpx.Client(base_url=served.base, headers=token) as http:
            assert http.post("/api/telemetry/consent", json={"enabled": True}).status_code == 200
            assert http.get("/api/telemetry/consent", params={"q": "zq-marker"}).status_code == 200
            tracked = http.post("/api/telemetry/events", json={"event_type": "opened", "properties": {}})
            assert tracked.status_code == 200
    assert served.returncode == 0, served.stderr[-2000:]
    with duckdb.connect(str(TelemetrySettings(home=home).db_path), read_only=True) as con:
        rows = con.execute(f"SELECT name, scope_name, attributes FROM {schema.SPANS}").fetchall()
    names = sorted(name for name, _, _ in rows)
    assert names == ["GET /api/telemetry/consent", "opened"], rows
    assert {scope for _, scope, _ in rows} == {INSTRUMENTATION_SCOPE, SCOPE_NAME}
    assert not any("url." in attributes or "zq-marker" in attributes for _, _, attributes in rows)


def test_serve_warns_when_not_bound_to_loopback(tmp_path: Path) -> None:
    with serving(tmp_path / "home", "0.0.0.0") as served, httpx.Client(base_url=served.base) as http:
        assert http.get("/api/telemetry/consent").status_code == 200
        # Reachable from elsewhere, but a foreign Host is still refused.
        assert http.get("/api/telemetry/consent", headers={"Host": "203.0.113.9"}).status_code == 403
    assert served.returncode == 0
    assert "warning: listening on 0.0.0.0" in served.stderr


def test_serve_allow_host_lets_the_page_be_opened_by_that_address_only(tmp_path: Path) -> None:
    # `peft-telemetry serve --host 0.0.0.0 --allow-host ADDRESS`: the page opens by the machine's address
    # (a Host the loopback rule refuses), and a Host not named is still refused.
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "PEFT_TELEMETRY_DISABLED")}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "telemetry.cli", "serve", "--home", str(tmp_path / "home"), "--host", "0.0.0.0",
               "--port", "0", "--no-browser", "--allow-host", "203.0.113.9"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert process.stdout is not None
        found = None
        for _ in range(5):
            found = re.search(r"http://\S+/\?token=(\S+)", process.stdout.readline())
            if found:
                break
        assert found, "serve did not print the dashboard URL"
        port = found.group(0).split("/?", 1)[0].rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        _wait_up(base)
        token = {"Authorization": f"Bearer {found.group(1)}"}
        with httpx.Client(base_url=base, headers=token) as http:
            assert http.get("/api/telemetry/consent", headers={"Host": f"203.0.113.9:{port}"}).status_code == 200
            assert http.get("/api/telemetry/consent", headers={"Host": "198.51.100.7"}).status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    refused = subprocess.run([*command[:-1], "not a host!"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert refused.returncode == 2 and "--allow-host: 'not a host!' is not a host name" in refused.stderr


def test_bound_socket_is_tcp_so_asyncio_disables_nagle() -> None:
    # asyncio sets TCP_NODELAY on accepted connections only for sockets whose proto is IPPROTO_TCP;
    # without it every JSON response (headers and body written apart) waited for a delayed ACK.
    import socket

    from telemetry.server.serve import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()
