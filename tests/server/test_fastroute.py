"""The direct route of the tracking endpoints answers like FastAPI's own routes, mounted or standalone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from exporters.eventlog import schema
from telemetry.server import router
from telemetry.server.deps import STATE_SERVICE, STATE_TOKEN, get_service
from telemetry.server.fastroute import JsonRoute
from telemetry.server.models import Accepted, EventIn
from telemetry.service import TelemetryService
from tests.server.conftest import LiveServer, running, server_settings

pytestmark = pytest.mark.usefixtures("consent_on")

API = "/api/telemetry"
JSON = {"Content-Type": "application/json"}


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 422, response.text[:300]
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    return detail


def test_validation_errors_have_fastapis_shape(client: httpx.Client) -> None:
    # /consent is served by FastAPI's generic handler, /events by JsonRoute: same error format.
    generic = _errors(client.post(f"{API}/consent", json={}))
    direct = _errors(client.post(f"{API}/events", json={"properties": {}}))
    assert generic[0]["loc"] == ["body", "enabled"] and direct[0]["loc"] == ["body", "event_type"]
    assert generic[0]["type"] == direct[0]["type"] == "missing"
    assert set(generic[0]) == set(direct[0])
    nested = _errors(
        client.post(f"{API}/events", json={"event_type": "x", "properties": {f"k{i}": 1 for i in range(300)}})
    )
    assert nested[0]["loc"][:2] == ["body", "properties"]


def test_an_empty_body_is_a_missing_body(client: httpx.Client) -> None:
    for path in ("/events", "/performance", "/errors"):
        detail = _errors(client.post(f"{API}{path}", content=b"", headers={"Content-Type": "application/json"}))
        assert detail[0]["loc"] == ["body"] and detail[0]["type"] == "missing"


def test_the_token_is_still_required(server: LiveServer) -> None:
    with server.client() as http:
        assert http.post(f"{API}/events", json={"event_type": "x"}).status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * 43}
        assert http.post(f"{API}/performance", json={"metric_name": "m", "value": 1}, headers=wrong).status_code == 403


def test_answers_are_the_response_model(client: httpx.Client) -> None:
    response = client.post(f"{API}/errors", json={"type": "TypeError", "message": "boom"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"accepted": True}


def test_mounted_in_another_app_without_the_middleware(tmp_path: Path) -> None:
    # An embedding app: only include_router, no LimitsMiddleware; the route checks the body itself.
    service = TelemetryService(server_settings(tmp_path / "home"))
    try:
        service.enable().result(10)
        app = FastAPI()
        app.include_router(router)
        setattr(app.state, STATE_SERVICE, service)
        setattr(app.state, STATE_TOKEN, "t" * 43)
        with running(app, service) as live, live.client(headers={"Authorization": "Bearer " + "t" * 43}) as http:
            assert http.post(f"{API}/events", json={"event_type": "embedded", "properties": {"n": 1}}).json() == {
                "accepted": True
            }
            bad = http.post(f"{API}/events", content=b'{"event_type": NaN}', headers=JSON)
            assert bad.status_code == 400 and bad.json()["problem"] == "nan_or_infinity"
            dup = b'{"event_type": "a", "event_type": "b"}'
            assert http.post(f"{API}/events", content=dup, headers=JSON).status_code == 400
            assert http.post(f"{API}/events", json={"event_type": ""}).status_code == 422
            assert (
                http.post(f"{API}/events", json={"event_type": "x"}, headers={"Authorization": ""}).status_code == 401
            )
            live.flush()
            names = live.query(f"SELECT name FROM {schema.SPANS} WHERE category = 'event'")
        assert names == [("embedded",)]
    finally:
        service.shutdown(timeout=10)


def test_a_route_of_another_shape_is_refused_when_built() -> None:
    bad = APIRouter(route_class=JsonRoute)
    service_dependency = Depends(get_service)

    async def with_query(event: EventIn, limit: int, service: TelemetryService = service_dependency) -> Accepted:
        return Accepted(accepted=True)

    with pytest.raises(TypeError, match="one body model and the service"):
        bad.add_api_route("/x", with_query, methods=["POST"])
