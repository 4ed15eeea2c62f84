"""The server's own handlers are timed into the event log with route templates, never raw paths or queries."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest

from exporters.eventlog import schema
from telemetry.http_spans import HTTP_ATTRIBUTES
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("consent_on")

API = "/api/telemetry"


def http_spans_settle(server: LiveServer, count: int) -> list[dict[str, Any]]:
    """The HTTP spans once ``count`` exist (or after 5 s): the instrumentation ends a request's span after
    the response has reached the client, so the last one may still be on its way when the client returns."""
    deadline = time.monotonic() + 5
    while True:
        rows = server.spans("category = 'http'")
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.02)


SCOPE = "opentelemetry.instrumentation.fastapi"


def test_handler_spans_carry_the_route_template_and_nothing_raw(server: LiveServer) -> None:
    secret = f"alice{uuid.uuid4().hex[:6]}"
    with server.client(headers={**server.auth, "User-Agent": f"agent-{secret}"}) as http:
        assert http.get(f"{API}/consent", params={"email": f"{secret}@example.com"}).status_code == 200
        assert http.get(f"{API}/export", params={"start_ns": 2**62, "q": secret}).status_code == 200
        assert http.get(f"/?token={server.token}&who={secret}").status_code == 303
    rows = server.spans("category = 'http' AND scope_name = ?", [SCOPE])
    by_route = {row["attributes"]["http.route"]: row for row in rows}
    assert {f"{API}/consent", f"{API}/export"} <= set(by_route)
    consent = by_route[f"{API}/consent"]
    assert consent["name"] == f"GET {API}/consent"
    assert consent["kind"] == "SERVER"
    assert consent["duration_ms"] > 0
    for row in rows:
        assert set(row["attributes"]) <= HTTP_ATTRIBUTES
        text = orjson.dumps(row).decode()
        # No raw path, query, token, client address or user agent anywhere in what was stored.
        for raw in (secret, server.token, "url.path", "url.query", "http.target", "http.url", "127.0.0.1"):
            assert raw not in text


def test_refused_and_unmatched_requests_leave_no_http_spans(server: LiveServer) -> None:
    before = server.stored_state()
    with server.client() as http:
        assert http.post(f"{API}/events", json={"event_type": "x"}).status_code == 401  # no token
        assert http.get("/no/such/path").status_code == 404
        assert http.get(f"{API}/export", params={"start_ns": -5}, headers=server.auth).status_code == 422
    assert server.stored_state() == before


def test_instrumentation_records_no_metric_points(server: LiveServer) -> None:
    # Its metrics would repeat the spans with the Host header and client attributes: they go nowhere.
    before = len(server.spans("category = 'http'"))
    with server.client(headers=server.auth) as http:
        for _ in range(3):
            http.get(f"{API}/rules", params={"secret": "x"})
    http_spans_settle(server, before + 3)
    server.flush()
    assert server.query(f"SELECT count(*) FROM {schema.METRIC_POINTS} WHERE name LIKE 'http.%'") == [(0,)]
    [(durations,)] = server.query(
        f"SELECT count(*) FROM {schema.SPANS} WHERE category = 'http' AND attributes->>'http.route' = ?",
        [f"{API}/rules"],
    )
    assert durations >= 3


def test_pages_static_files_and_the_status_poll_are_not_timed(server: LiveServer) -> None:
    # They are the dashboard looking at itself, not API calls: only the API call below is timed.
    before = {r["span_id"] for r in server.spans("category = 'http'")}
    with server.client(headers=server.auth) as http:
        for path in ("/", "/dashboard", "/static/app.js", f"{API}/status", f"{API}/rules", f"{API}/status"):
            assert http.get(path).status_code == 200, path
    rows = http_spans_settle(server, len(before) + 1)
    time.sleep(0.2)  # give a wrongly timed request after it the same chance to arrive
    rows = server.spans("category = 'http'")
    assert [r["attributes"]["http.route"] for r in rows if r["span_id"] not in before] == [f"{API}/rules"]


def test_ingestion_endpoints_are_not_timed(server: LiveServer) -> None:
    # A timing row per tracked event would double the log with telemetry measuring its own intake.
    before = {r["span_id"] for r in server.spans("category = 'http'")}
    with server.client(headers=server.auth) as http:
        assert http.post(f"{API}/events", json={"event_type": "model_loaded"}).status_code == 200
        body = {"metric_name": "load", "value": 1.5, "unit": "s"}
        assert http.post(f"{API}/performance", json=body).status_code == 200
        assert http.post(f"{API}/errors", json={"type": "TypeError", "message": "x"}).status_code == 200
        assert http.get(f"{API}/rules").status_code == 200
    rows = http_spans_settle(server, len(before) + 1)
    time.sleep(0.2)  # give a wrongly timed request the same chance to arrive
    server.flush()
    rows = server.spans("category = 'http'")
    assert [r["attributes"]["http.route"] for r in rows if r["span_id"] not in before] == [f"{API}/rules"]
    [(recorded,)] = server.query(
        f"SELECT count(*) FROM {schema.SPANS} WHERE category IN ('event', 'error', 'performance')"
    )
    assert recorded >= 3  # the tracked items themselves were stored


def test_api_response_times_reach_the_analytics(server: LiveServer) -> None:
    with server.client(headers=server.auth) as http:
        http.get(f"{API}/rules")
        server.flush()
        report = http.post(f"{API}/analytics", json={})
    assert report.status_code == 200
    assert f"{API}/rules" in report.text


def test_with_consent_off_no_http_spans_are_recorded(server: LiveServer) -> None:
    with server.client(headers=server.auth) as http:
        http.post(f"{API}/consent", json={"enabled": False})
        server.flush()
        before = server.query(f"SELECT count(*) FROM {schema.SPANS} WHERE category = 'http'")
        http.get(f"{API}/rules")
        http.get(f"{API}/status")
        server.flush()
        assert server.query(f"SELECT count(*) FROM {schema.SPANS} WHERE category = 'http'") == before
        http.post(f"{API}/consent", json={"enabled": True})
        # Switching consent back on times requests again at once (the server swaps stacks per request).
        [(count,)] = before
        http.get(f"{API}/rules")
    assert len(http_spans_settle(server, count + 1)) == count + 1
