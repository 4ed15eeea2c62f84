"""A real uvicorn server on a free 127.0.0.1 port, in a background thread, on a temporary data home."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI

from exporters.eventlog import schema
from telemetry.server import create_app
from telemetry.server.serve import bind
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


def server_settings(home: Path, **overrides: Any) -> TelemetrySettings:
    options: dict[str, Any] = {
        "home": home,
        "install_global": False,
        "sample_resources": False,
        "flush_interval_s": 0.05,
        "metrics_interval_s": 3600,  # tests flush metrics explicitly
        "do_not_track": False,
    }
    options.update(overrides)
    return TelemetrySettings(**options)


@dataclass
class LiveServer:
    base_url: str
    port: int
    token: str
    service: TelemetryService
    app: FastAPI

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kwargs)

    def flush(self) -> None:
        """Everything the server recorded, written to the event log."""
        assert self.service.flush(timeout_s=30)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.service.event_log.reader() as con:
            return con.execute(sql, params or []).fetchall()

    def stored_state(self) -> dict[str, Any]:
        """What a refused request must not change: row counts of every table and the consent file."""
        self.flush()
        state: dict[str, Any] = {t: self.query(f"SELECT count(*) FROM {t}")[0][0] for t in schema.DATA_TABLES}
        state["consent_file"] = self.service.settings.config_path.read_bytes()
        return state

    def spans(self, where: str = "TRUE", params: list[Any] | None = None) -> list[dict[str, Any]]:
        self.flush()
        with self.service.event_log.reader() as con:
            cur = con.execute(
                f"SELECT * FROM {schema.SPANS_WITH_RESOURCE} WHERE {where} ORDER BY start_ns", params or []
            )
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        for row in rows:
            for key in ("attributes", "resource", "redactions", "links"):
                if isinstance(row.get(key), str):
                    row[key] = orjson.loads(row[key])
        return rows


@contextmanager
def running(app: FastAPI, service: TelemetryService) -> Iterator[LiveServer]:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", port, app.state.telemetry_token, service, app)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@contextmanager
def live_server(home: Path, **overrides: Any) -> Iterator[LiveServer]:
    """A service with consent given, its app, and a uvicorn server; everything stopped afterwards."""
    service = TelemetryService(server_settings(home, **overrides))
    try:
        service.enable().result(10)
        app = create_app(service)
        with running(app, service) as live:
            yield live
    finally:
        service.shutdown(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("server") / "home") as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(headers=server.auth) as http:
        yield http


@pytest.fixture
def consent_on(server: LiveServer, client: httpx.Client) -> Iterator[None]:
    """Tests may switch consent off; every test starts (and ends) with it on."""
    if not server.service.is_enabled():
        assert client.post("/api/telemetry/consent", json={"enabled": True}).status_code == 200
    yield
    if not server.service.is_enabled():
        assert client.post("/api/telemetry/consent", json={"enabled": True}).status_code == 200
