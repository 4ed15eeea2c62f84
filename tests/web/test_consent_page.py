"""The consent screen in a real browser against the real service: choose, see, export, erase, preview."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from playwright.sync_api import BrowserContext, Page, expect

from telemetry.settings import CONSENT_POLICY_VERSION
from telemetry.web import collected_items
from tests.fleet._fleet_helpers import start_hub
from tests.web.conftest import LiveServer, open_page
from tests.web.test_accessibility import axe_violations


def consent_api(server: LiveServer) -> dict[str, Any]:
    with server.client(token=False) as client:
        return client.get("/api/telemetry/consent").json()  # type: ignore[no-any-return]


def turn_on(page: Page) -> None:
    switch = page.get_by_role("switch", name="Share anonymous usage data")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")


def test_consent_is_off_until_one_click_turns_it_on_everywhere(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = context.new_page()
    open_page(page, server)
    assert "token=" not in page.url  # swapped for the cookie, gone from the address bar
    pill = page.locator("#state-pill")
    expect(pill).to_have_text("Off")
    expect(page.locator("#consent-state")).to_contain_text("nothing is recorded")
    assert consent_api(server)["enabled"] is False

    other = context.new_page()  # a second tab, on the dashboard
    open_page(other, server, "dashboard", login=False)
    expect(other.locator("#dash-banner")).to_contain_text("Telemetry is off")

    turn_on(page)
    expect(pill).to_have_text("Recording")
    expect(page.locator("#announcer")).to_contain_text("Telemetry is on")
    assert consent_api(server)["enabled"] is True
    # The other tab follows without a reload.
    expect(other.locator("#state-pill")).to_have_text("Recording")
    expect(other.locator("#dash-banner")).to_be_hidden()

    page.reload()
    page.wait_for_selector("body[data-ready]")
    expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#consent-given")).to_contain_text("Given")
    expect(page.locator("#policy-version")).to_have_text(CONSENT_POLICY_VERSION)
    # Persisted on disk, where the next start of the app reads it.
    assert json.loads(server.service.settings.config_path.read_text())["enabled"] is True


def test_the_switch_and_the_tabs_work_from_the_keyboard(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    page.locator("#consent-switch").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "true")
    page.keyboard.press("Enter")
    expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "false")
    assert consent_api(server)["enabled"] is False

    page.get_by_role("tab", name="Privacy").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Dashboard")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="Dashboard")).to_be_focused()
    expect(page.locator("#view-dashboard")).to_be_visible()
    expect(page.locator("#view-consent")).to_be_hidden()


def test_without_the_token_a_change_is_refused_and_the_page_says_why(server: LiveServer, page: Page) -> None:
    open_page(page, server, login=False)
    page.get_by_role("switch", name="Share anonymous usage data").click()
    expect(page.get_by_role("alert")).to_contain_text("access token")
    expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "false")
    assert consent_api(server)["enabled"] is False


def test_the_lists_come_from_the_anonymizer_rules_and_the_schema(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    with server.client(token=False) as client:
        rules = client.get("/api/telemetry/rules").json()
    shown = page.locator("#never-list [data-rule]")
    expect(shown).to_have_count(len(rules))
    assert sorted(shown.evaluate_all("els => els.map(e => e.dataset.rule)")) == sorted(r["id"] for r in rules)
    email = next(r for r in rules if r["id"] == "value.email")
    item = page.locator('#never-list [data-rule="value.email"]')
    expect(item).to_contain_text(email["description"])
    expect(item).to_contain_text(email["marker"])

    items = collected_items()
    collected = page.locator("#collect-list > li")
    expect(collected).to_have_count(len(items))
    for item_model, li in zip(items, collected.all(), strict=True):
        assert li.get_attribute("data-id") == item_model.id
        assert li.locator(".field-name").all_inner_texts() == item_model.fields


def test_identity_shows_the_anonymous_id_and_when_consent_was_given(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    expect(page.locator("#anon-id")).to_have_text(consent_api(server)["anonymous_user_id"])
    expect(page.locator("#consent-given")).to_have_text("Never given")
    turn_on(page)
    expect(page.locator("#consent-given")).to_contain_text("Given")
    page.locator("#history-details summary").click()
    entry = page.locator("#consent-history li").first
    expect(entry).to_contain_text("Granted")
    expect(entry).to_contain_text(CONSENT_POLICY_VERSION)


def test_the_preview_shows_an_event_after_anonymization(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    output = page.locator("#preview-output")
    expect(output).to_contain_text("llama-2-7b")  # useful values survive
    stored = output.inner_text()
    for secret in ("alice@example.com", "hf_aBcDeF", "/home/alice", "192.168.1.23"):
        assert secret not in stored
    expect(page.locator("#preview-redactions .chip").first).to_be_visible()

    page.locator("#preview-input").fill(
        json.dumps({"event_type": "adapter_saved", "properties": {"note": "mail bob@example.org", "rank": 8}})
    )
    page.get_by_role("button", name="Preview").click()
    expect(output).to_contain_text("adapter_saved")
    expect(output).not_to_contain_text("bob@example.org")
    expect(output).to_contain_text("<email>")

    page.locator("#preview-input").fill("{not json")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-input")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; protobuf's JSON parser wants base64 for bytes."""
    if isinstance(node, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str) and v
            else _hex_ids_to_base64(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


def parse_otlp_export(path: Path) -> tuple[list[ExportTraceServiceRequest], list[ExportMetricsServiceRequest]]:
    traces, metrics = [], []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        data = _hex_ids_to_base64(json.loads(line))
        if "resourceSpans" in data:
            traces.append(json_format.Parse(json.dumps(data), ExportTraceServiceRequest()))
        elif "resourceMetrics" in data:
            metrics.append(json_format.Parse(json.dumps(data), ExportMetricsServiceRequest()))
        else:
            raise AssertionError(f"not an OTLP export request: {sorted(data)}")
    return traces, metrics


def span_names(traces: list[ExportTraceServiceRequest]) -> list[str]:
    return [s.name for t in traces for rs in t.resource_spans for ss in rs.scope_spans for s in ss.spans]


def test_export_downloads_everything_as_otlp_json(server: LiveServer, page: Page, tmp_path: Path) -> None:
    open_page(page, server)
    turn_on(page)
    client = server.client()
    for i in range(3):
        client.post("/api/telemetry/events", json={"event_type": "training_started", "properties": {"i": i}})
    client.post("/api/telemetry/performance", json={"metric_name": "model_load_time", "value": 120, "unit": "ms"})
    server.flush()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export my data").click()
    download = info.value
    assert download.suggested_filename.endswith(".jsonl")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    traces, _metrics = parse_otlp_export(target)
    names = span_names(traces)
    assert names.count("training_started") == 3
    assert "performance" in names
    ids = [s.trace_id for t in traces for rs in t.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert all(len(i) == 16 for i in ids)  # real 128-bit ids survived the hex/base64 round trip


def test_delete_asks_first_then_erases_everything(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    turn_on(page)
    client = server.client()
    for _ in range(4):
        client.post("/api/telemetry/events", json={"event_type": "model_loaded"})
    server.flush()
    old_id = consent_api(server)["anonymous_user_id"]
    expect(page.locator("#stored")).to_have_text(re.compile(r"^[1-9][\d,]* records"), timeout=15_000)

    page.get_by_role("button", name="Delete my data…").click()
    dialog = page.get_by_role("dialog", name="Delete all telemetry data?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#announcer")).to_have_text("Nothing was deleted.")
    assert server.service.event_log.stats().spans > 0

    page.get_by_role("button", name="Delete my data…").click()
    dialog.get_by_role("button", name="Delete everything").click()
    expect(page.locator("#announcer")).to_contain_text("All telemetry data was deleted")
    new_id = consent_api(server)["anonymous_user_id"]
    assert new_id != old_id
    expect(page.locator("#anon-id")).to_have_text(new_id)
    server.flush()
    with server.service.event_log.reader() as cur:
        kept = cur.execute("SELECT count(*) FROM spans WHERE event_type = 'model_loaded'").fetchone()
    assert kept == (0,)
    # the choice is kept
    expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "true")


def share_api(server: LiveServer) -> dict[str, Any]:
    with server.client() as client:
        return client.get("/api/telemetry/share").json()  # type: ignore[no-any-return]


def test_sharing_is_a_second_choice_with_a_real_hub_and_axe_finds_nothing(
    make_server: Callable[..., LiveServer], new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    server = make_server(share_settle_s=0.3, share_interval_s=0.2)
    hub = start_hub(tmp_path / "lake")
    try:
        page = new_context(bypass_csp=True).new_page()
        open_page(page, server)
        share = page.get_by_role("switch", name="Share with your organisation")
        expect(share).to_have_attribute("aria-checked", "false")
        expect(share).to_have_attribute("aria-disabled", "true")  # only while recording is on
        expect(page.locator("#share-state")).to_contain_text("only while recording is on")
        assert axe_violations(page) == [], "sharing, recording off"

        turn_on(page)
        address = page.get_by_label("Hub address")
        expect(address).to_be_visible()
        expect(share).to_have_attribute("aria-disabled", "false")
        assert axe_violations(page) == [], "sharing, offered"
        address.fill(hub.endpoint)
        page.get_by_role("button", name="Start sharing").click()
        expect(share).to_have_attribute("aria-checked", "true")
        status = share_api(server)
        assert status["sharing"] is True
        expect(page.locator("#share-endpoint")).to_have_text(status["endpoint"])
        assert hub.endpoint.rsplit("/", 1)[1] not in page.content()  # the credential never reaches the page
        expect(page.locator("#announcer")).to_contain_text("Sharing is on")
        expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "true")
        assert axe_violations(page) == [], "sharing, on"

        page.get_by_role("button", name="Stop sharing…").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
        assert axe_violations(page) == [], "stop sharing dialog"
        dialog.get_by_label("Also ask the hub to delete everything this computer shared").check()
        dialog.get_by_role("button", name="Stop sharing").click()
        expect(share).to_have_attribute("aria-checked", "false")
        expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-checked", "true")
        expect(page.locator("#share-deletions")).to_contain_text("The hub confirmed deleting", timeout=30_000)
        assert share_api(server)["confirmed_deletions"][0]["install_id"] == status["install_id"]
        # Closing the dialog scrolled the card into view; at that scroll, what lies under the sticky top bar
        # would count as a too-small target beside the tabs: check from the top, as the other views are.
        page.evaluate("window.scrollTo(0, 0)")
        assert axe_violations(page) == [], "sharing, stopped"
    finally:
        hub.stop()
