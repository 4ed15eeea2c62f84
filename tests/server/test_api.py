"""Every REST endpoint against the live server: what it answers and what it really stored."""

from __future__ import annotations

import uuid

import httpx
import orjson
import pytest

from exporters.eventlog import schema
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("consent_on")

API = "/api/telemetry"


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_consent_get_reports_state_and_identity(server: LiveServer, client: httpx.Client) -> None:
    body = client.get(f"{API}/consent").json()
    assert body["enabled"] is True and body["user_choice"] is True
    assert body["anonymous_user_id"] == server.service.anonymous_user_id
    assert len(body["anonymous_user_id"]) == 16
    assert body["policy_version"] == body["consented_policy_version"]


def test_consent_post_switches_off_and_on_and_writes_the_ledger(server: LiveServer, client: httpx.Client) -> None:
    before = server.query(f"SELECT count(*) FROM {schema.CONSENT_LEDGER} WHERE source = 'server'")[0][0]
    off = client.post(f"{API}/consent", json={"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert server.service.is_enabled() is False
    # While off, tracking is accepted as a call but records nothing.
    kind = _unique("while_off")
    assert client.post(f"{API}/events", json={"event_type": kind}).json() == {"accepted": False}
    on = client.post(f"{API}/consent", json={"enabled": True})
    assert on.json()["enabled"] is True
    actions = server.query(
        f"SELECT action FROM {schema.CONSENT_LEDGER} WHERE source = 'server' ORDER BY time_ns DESC LIMIT 2"
    )
    assert [a for (a,) in actions] == ["granted", "revoked"]
    assert server.query(f"SELECT count(*) FROM {schema.CONSENT_LEDGER} WHERE source = 'server'")[0][0] == before + 2
    assert server.spans("event_type = ?", [kind]) == []
    on_disk = orjson.loads(server.service.settings.config_path.read_bytes())
    assert on_disk["enabled"] is True


def test_consent_post_needs_a_boolean(client: httpx.Client) -> None:
    assert client.post(f"{API}/consent", json={"enabled": "yes"}).status_code == 422
    assert client.post(f"{API}/consent", json={}).status_code == 422


def test_event_is_stored_anonymized(server: LiveServer, client: httpx.Client) -> None:
    kind = _unique("model_loaded")
    props = {"model_name": "llama-2-7b", "contact": "alice@example.com", "lora": {"r": 16}}
    response = client.post(f"{API}/events", json={"event_type": kind, "properties": props})
    assert response.status_code == 200 and response.json() == {"accepted": True}
    [row] = server.spans("event_type = ?", [kind])
    assert row["category"] == "event"
    assert row["attributes"]["model_name"] == "llama-2-7b"
    assert row["attributes"]["lora.r"] == 16
    assert "alice@example.com" not in orjson.dumps(row).decode()
    assert row["session_id"] == server.service.session_id


def test_performance_is_stored_with_value_and_unit(server: LiveServer, client: httpx.Client) -> None:
    name = _unique("api_response_time")
    response = client.post(f"{API}/performance", json={"metric_name": name, "value": 150.5, "unit": "ms"})
    assert response.json() == {"accepted": True}
    [row] = server.spans("metric_name = ?", [name])
    assert (row["category"], row["metric_value"], row["metric_unit"]) == ("performance", 150.5, "ms")


def test_performance_refuses_non_numbers(client: httpx.Client) -> None:
    assert client.post(f"{API}/performance", json={"metric_name": "x", "value": "fast"}).status_code == 422
    for coerced in (True, "1", "1.5", None):  # strict: only a JSON number is a number
        answer = client.post(f"{API}/performance", json={"metric_name": "x", "value": coerced})
        assert answer.status_code == 422, coerced
        assert answer.json()["detail"][0]["loc"][-1] == "value"
    assert client.post(f"{API}/performance", json={"metric_name": "x", "value": 3}).status_code == 200


def test_frontend_error_goes_through_the_anonymizer(server: LiveServer, client: httpx.Client) -> None:
    error_type = _unique("TypeError")
    stack = (
        "TypeError: cannot read properties of undefined\n"
        "    at render (/home/alice/projects/peft-studio/src/App.tsx:10:5)\n"
        "    at mail bob@example.com\n"
    )
    body = {"type": error_type, "message": "failed for bob@example.com\nsecond line", "stack": stack}
    assert client.post(f"{API}/errors", json=body).json() == {"accepted": True}
    [row] = server.spans("error_type = ?", [error_type])
    assert row["category"] == "error"
    assert row["status_code"] == "ERROR"
    events = server.query(f"SELECT name, attributes FROM {schema.SPAN_EVENTS} WHERE span_id = ?", [row["span_id"]])
    assert [name for name, _ in events] == ["exception"]
    stored = orjson.dumps(row).decode() + events[0][1]
    assert "bob@example.com" not in stored
    assert "alice" not in stored
    assert "second line" not in stored  # only the first line of a message is kept


def test_analytics_report_counts_what_was_tracked(server: LiveServer, client: httpx.Client) -> None:
    kind = _unique("training_started")
    for _ in range(3):
        client.post(f"{API}/events", json={"event_type": kind, "properties": {"algorithm": "lora"}})
    server.flush()
    report = client.post(f"{API}/analytics", json={"event_types": [kind]})
    assert report.status_code == 200
    assert [(e["event_type"], e["count"], e["percentage"]) for e in report.json()["event_breakdown"]] == [
        (kind, 3, 100.0)
    ]
    everything = client.post(f"{API}/analytics", json={}).json()
    assert {"event_type": kind, "count": 3}.items() <= next(
        e for e in everything["event_breakdown"] if e["event_type"] == kind
    ).items()
    session = client.post(f"{API}/analytics", json={"session_id": server.service.session_id}).json()
    assert session["totals"]["total_events"] >= 3
    # An empty body is the spec's "no filters" too.
    assert client.post(f"{API}/analytics").status_code == 200


def test_analytics_refuses_a_reversed_time_range_and_unknown_fields(client: httpx.Client) -> None:
    assert client.post(f"{API}/analytics", json={"start_ns": 10, "end_ns": 5}).status_code == 422
    assert client.post(f"{API}/analytics", json={"start_ns": -1}).status_code == 422
    assert client.post(f"{API}/analytics", json={"end_ns": "0 OR 1=1"}).status_code == 422
    assert client.post(f"{API}/analytics", json={"order_by": "1; DROP TABLE spans"}).status_code == 422


INJECTIONS = [
    "' OR '1'='1",
    "x'); DROP TABLE spans; --",
    "' UNION SELECT read_text('/etc/passwd') --",
    '" OR ""="',
    "%' OR event_type LIKE '%",
    "x' OR 1=1) --",
]


def _comparable(report: dict[str, object]) -> dict[str, object]:
    # The echoed filter differs by construction; everything computed from the data must not.
    return {k: v for k, v in report.items() if k not in ("filter", "consent_history", "system_info")}


@pytest.mark.parametrize("attack", INJECTIONS)
@pytest.mark.parametrize("field", ["event_types", "session_id"])
def test_sql_injection_in_filters_equals_a_harmless_miss(
    server: LiveServer, client: httpx.Client, attack: str, field: str
) -> None:
    kind = _unique("injection_target")
    client.post(f"{API}/events", json={"event_type": kind})
    server.flush()
    value = [attack] if field == "event_types" else attack
    harmless = [_unique("no_such")] if field == "event_types" else _unique("no_such")
    attacked = client.post(f"{API}/analytics", json={field: value})
    control = client.post(f"{API}/analytics", json={field: harmless})
    assert attacked.status_code == control.status_code == 200
    assert _comparable(attacked.json()) == _comparable(control.json())
    assert attacked.json()["totals"]["total_events"] == 0
    # And the data is still all there.
    assert server.spans("event_type = ?", [kind])


def test_export_is_an_otlp_json_lines_download(server: LiveServer, client: httpx.Client) -> None:
    kind = _unique("exported")
    client.post(f"{API}/events", json={"event_type": kind})
    server.flush()
    with client.stream("GET", f"{API}/export") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        assert response.headers["content-disposition"].startswith("attachment;")
        body = b"".join(response.iter_bytes())
    assert int(response.headers["content-length"]) == len(body)
    lines = [orjson.loads(line) for line in body.splitlines()]
    spans = [
        span
        for line in lines
        for rs in line.get("resourceSpans", [])
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
    ]
    [ours] = [s for s in spans if s["name"] == kind]
    assert len(ours["traceId"]) == 32 and int(ours["traceId"], 16)
    assert len(ours["spanId"]) == 16
    # The temporary file is gone: nothing is left behind in the exports folder.
    assert not list((server.service.settings.home / "exports").glob(".server-export-*"))


def test_export_time_range_excludes_older_events(server: LiveServer, client: httpx.Client) -> None:
    client.post(f"{API}/events", json={"event_type": _unique("old")})
    server.flush()
    response = client.get(f"{API}/export", params={"start_ns": 2**62})
    assert response.status_code == 200
    assert "resourceSpans" not in response.text
    assert client.get(f"{API}/export", params={"start_ns": -1}).status_code == 422


def test_status_shows_consent_pipeline_and_event_log(server: LiveServer, client: httpx.Client) -> None:
    body = client.get(f"{API}/status").json()
    assert body["consent"]["enabled"] is True
    assert body["session_id"] == server.service.session_id
    assert body["pipeline"]["dropped_queue_full"] == 0
    assert body["event_log"]["spans"] >= 0
    assert body["event_log_error"] is None


def test_preview_shows_the_anonymized_event_and_stores_nothing(server: LiveServer, client: httpx.Client) -> None:
    # Only the preview request's own HTTP timing may be added; no event.
    count = f"SELECT count(*) FROM {schema.SPANS} WHERE category != 'http'"
    server.flush()
    before = server.query(count)
    response = client.post(
        f"{API}/preview", json={"event_type": "signup", "properties": {"email": "carol@example.com", "n": 3}}
    )
    assert response.status_code == 200
    assert "carol@example.com" not in response.text
    assert response.json()["event"]["properties"]["n"] == 3
    server.flush()
    assert server.query(count) == before


def test_rules_lists_the_anonymizer_rules(client: httpx.Client) -> None:
    rules = client.get(f"{API}/rules").json()
    assert rules and all({"id", "description", "marker", "kind"} <= set(rule) for rule in rules)


def test_openapi_lists_every_endpoint(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        f"{API}/consent": {"get", "post"},
        f"{API}/events": {"post"},
        f"{API}/performance": {"post"},
        f"{API}/errors": {"post"},
        f"{API}/analytics": {"post"},
        f"{API}/export": {"get"},
        f"{API}/data": {"delete"},
        f"{API}/status": {"get"},
        f"{API}/preview": {"post"},
        f"{API}/rules": {"get"},
        "/v1/traces": {"post"},
        "/v1/metrics": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path


def test_delete_erases_everything_and_rotates_the_identity(server: LiveServer, client: httpx.Client) -> None:
    client.post(f"{API}/events", json={"event_type": _unique("to_erase")})
    server.flush()
    old_id = server.service.anonymous_user_id
    response = client.delete(f"{API}/data")
    assert response.status_code == 200
    body = response.json()
    assert body["deleted"] is True and body["anonymous_user_id"] != old_id
    server.service.flush()
    # Only the DELETE request's own HTTP span (it ends after the erasure) may be there.
    assert server.query(f"SELECT count(*) FROM {schema.SPANS} WHERE category != 'http'")[0][0] == 0
    assert server.query(f"SELECT count(*) FROM {schema.SPAN_EVENTS}")[0][0] == 0
    # Consent stays as chosen, and the fresh log proves it with one ledger entry.
    assert server.service.is_enabled()
    assert server.query(f"SELECT action, source FROM {schema.CONSENT_LEDGER}") == [("granted", "delete_all")]
