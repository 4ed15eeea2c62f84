"""``instrument_http_clients``: outgoing requests/httpx calls stored by host allowlist and route shape,
against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from _live import serving
from fastapi import FastAPI

import telemetry
from telemetry.instrument_http import DEFAULT_KNOWN_SEGMENTS, host_shown, route_shape
from telemetry.testing import recording_service, stored_events

requests = pytest.importorskip("requests")


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    def anything(path: str) -> dict[str, int]:
        return {"n": len(path)}

    return app


def test_client_spans_keep_host_allowlist_and_route_shape_only(tmp_path: Path) -> None:
    with recording_service(tmp_path) as service, serving(_app()) as base:
        handle = telemetry.instrument_http_clients(
            service=service, allowed_hosts=["127.0.0.1"], excluded_urls=["/healthz$"]
        )
        try:
            port = base.rsplit(":", 1)[1]
            assert requests.get(f"{base}/api/models/alice/private-llama/revision/main?token=s3cr3t").ok
            assert httpx.get(f"{base}/alice/private-llama/resolve/main/adapter_model.safetensors").is_success
            assert requests.get(f"http://localhost:{port}/api/whoami-v2?user=alice").ok  # host not allowed
            assert requests.get(f"{base}/healthz").ok  # excluded
        finally:
            handle.uninstrument()
        rows = stored_events(service)
    assert sorted(r["name"] for r in rows) == [
        "GET 127.0.0.1/api/models/{}/{}/revision/main",
        "GET 127.0.0.1/{}/{}/resolve/main/{}",
        "GET other/api/whoami-v2",
    ]
    assert all(r["kind"] == "CLIENT" for r in rows)
    statuses = {r["attributes"].get("http.response.status_code", r["attributes"].get("http.status_code")) for r in rows}
    assert statuses == {200}
    stored = orjson.dumps(rows, default=str).decode()
    for raw in ("alice", "private-llama", "s3cr3t", "safetensors", "localhost", "user="):
        assert raw not in stored, raw


def test_no_client_span_without_consent(tmp_path: Path) -> None:
    with recording_service(tmp_path, enabled=False) as service, serving(_app()) as base:
        handle = telemetry.instrument_http_clients(service=service, allowed_hosts=["127.0.0.1"])
        try:
            assert requests.get(f"{base}/api/models").ok
        finally:
            handle.uninstrument()
        assert stored_events(service) == []


@pytest.mark.parametrize(
    ("host", "expected"),
    [("huggingface.co", "huggingface.co"), ("cdn-lfs.hf.co", "cdn-lfs.hf.co"), ("evil-hf.co", "other"),
     ("example.com", "other"), (None, "other")],
)  # fmt: skip
def test_host_allowlist(host: str | None, expected: str) -> None:
    assert host_shown(host, telemetry.instrument_http.DEFAULT_ALLOWED_HOSTS) == expected


def test_route_shape() -> None:
    assert route_shape("/api/datasets/ann/corpus/tree/main", DEFAULT_KNOWN_SEGMENTS) == "/api/datasets/{}/{}/tree/main"
    assert route_shape("/", DEFAULT_KNOWN_SEGMENTS) == "/"
