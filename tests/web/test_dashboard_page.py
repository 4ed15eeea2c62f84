"""The analytics dashboard in a real browser against the real service: what the API records, the page shows."""

from __future__ import annotations

import platform
import re
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from bench.bench_dashboard import seed_events
from exporters.eventlog import EventLog, schema
from tests.web.conftest import LiveServer, open_page, refresh_dashboard
from tests.web.test_consent_page import parse_otlp_export, span_names

DAY_NS = 86_400 * 10**9


def row(page: Page, panel: str, key: str) -> Locator:
    return page.locator(f'#{panel} li[data-key="{key}"] .barlist-num')


def table_row(page: Page, panel: str, name: str) -> list[str]:
    return page.locator(f"#{panel} tbody tr", has_text=name).locator("td").all_inner_texts()


def enable_by_click(page: Page) -> None:
    page.get_by_role("tab", name="Privacy").click()
    page.get_by_role("switch", name="Share anonymous usage data").click()
    expect(page.locator("#state-pill")).to_have_text("Recording")
    page.get_by_role("tab", name="Dashboard").click()


def post_events(server: LiveServer, event_type: str, count: int, **properties: object) -> None:
    client = server.client()
    for i in range(count):
        response = client.post(
            "/api/telemetry/events", json={"event_type": event_type, "properties": {"i": i, **properties}}
        )
        assert response.status_code == 200


def test_the_numbers_follow_what_the_api_records(server: LiveServer, page: Page) -> None:
    open_page(page, server, "dashboard")
    expect(page.locator("#stat-total")).to_have_text("0")
    enable_by_click(page)
    post_events(server, "training_started", 3)
    post_events(server, "model_loaded", 2)
    # No click: the page notices the new rows by itself.
    expect(page.locator("#stat-total")).to_have_text("5", timeout=30_000)
    expect(page.locator("#stat-types")).to_have_text("2")
    expect(row(page, "breakdown", "training_started")).to_have_text("60.0% · 3")
    expect(row(page, "breakdown", "model_loaded")).to_have_text("40.0% · 2")

    post_events(server, "training_started", 5)
    server.flush()
    refresh_dashboard(page)
    expect(page.locator("#stat-total")).to_have_text("10")
    expect(row(page, "breakdown", "training_started")).to_have_text("80.0% · 8")
    expect(page.locator("#chart-time svg rect.col").first).to_be_visible()
    expect(page.locator("#stat-session")).not_to_have_text("\u2013")


def test_performance_errors_redactions_api_times_and_system(server: LiveServer, page: Page) -> None:
    client = server.client()
    assert client.post("/api/telemetry/consent", json={"enabled": True}).status_code == 200
    for value in (100, 200, 300, 400):
        client.post("/api/telemetry/performance", json={"metric_name": "model_load_time", "value": value, "unit": "ms"})
    for value in (5, 6):
        client.post("/api/telemetry/performance", json={"metric_name": "tokenize_batch", "value": value, "unit": "ms"})
    for error_type, count in (("ValueError", 2), ("TypeError", 1)):
        for _ in range(count):
            client.post("/api/telemetry/errors", json={"type": error_type, "message": "bad input"})
    post_events(server, "model_loaded", 2, user_email="alice@example.com")
    for _ in range(2):
        assert client.get("/api/telemetry/consent").status_code == 200
    server.flush()
    open_page(page, server, "dashboard")

    # count, avg, min, max, p95 (linear interpolation, as quantile_cont computes it: 385 ms)
    assert table_row(page, "perf", "model_load_time")[1:] == ["4", "250 ms", "100 ms", "400 ms", "385 ms"]
    assert table_row(page, "perf", "tokenize_batch")[1:] == ["2", "5.5 ms", "5 ms", "6 ms", "5.95 ms"]
    expect(page.locator("#perf tr.is-slowest")).to_contain_text("model_load_time")
    expect(page.locator("#perf-chart-title")).to_contain_text("model_load_time")
    bars = page.locator("#chart-perf rect.col")
    assert sum(int(t.rsplit(": ", 1)[1]) for t in bars.locator("title").all_text_contents()) == 4
    expect(page.locator("#chart-perf .marker-label")).to_have_text(["p50", "p95"])

    expect(page.locator("#stat-errors")).to_have_text("3")
    expect(row(page, "errors", "ValueError")).to_have_text("2 · 66.7%")
    expect(row(page, "errors", "TypeError")).to_have_text("1 · 33.3%")

    email = page.locator('#redactions li[data-key="key.email"]')
    expect(email).to_contain_text("Fields named like an e-mail address")
    expect(email.locator(".barlist-num")).to_have_text("2 · key.email")

    consent_route = table_row(page, "api-times", "/api/telemetry/consent")
    assert consent_route and int(consent_route[1].split(" ")[0]) >= 2
    # Ingestion is not timed: the tracked events above left no timing rows of their own.
    assert table_row(page, "api-times", "/api/telemetry/events") == []
    expect(page.locator("#system")).to_contain_text(platform.python_version())
    expect(page.locator("#system")).to_contain_text(platform.machine())


def _seed_old_events(home: Path) -> None:
    """40 events ten days ago, written straight into the event log before the service starts."""
    db = home / "telemetry" / "events.duckdb"
    now = time.time_ns()
    seed_events(db, 40, start_ns=now - 10 * DAY_NS - 3_600 * 10**9, end_ns=now - 10 * DAY_NS)
    log = EventLog(db)
    try:
        with log.reader() as cur:
            cur.execute(
                f"UPDATE {schema.SPANS} SET category = 'event', event_type = 'old_import', name = 'old_import', "
                "error_type = NULL, metric_name = NULL, metric_value = NULL, metric_unit = NULL, redactions = NULL"
            )
    finally:
        log.close()


def test_the_time_range_selector_filters_every_panel_and_the_export(
    make_server: Callable[..., LiveServer], page: Page, tmp_path: Path
) -> None:
    server = make_server(before_start=_seed_old_events)
    server.client().post("/api/telemetry/consent", json={"enabled": True})
    post_events(server, "training_started", 3)
    server.flush()
    open_page(page, server, "dashboard")
    expect(page.locator("#stat-total")).to_have_text("43")
    expect(row(page, "breakdown", "old_import")).to_have_text("93.0% · 40")

    before = page.get_attribute("#view-dashboard", "data-renders")
    page.get_by_label("Time range").select_option(label="Last 24 hours")
    page.wait_for_function("n => document.querySelector('#view-dashboard').dataset.renders !== n", arg=before)
    expect(page.locator("#stat-total")).to_have_text("3")
    expect(page.locator('#breakdown li[data-key="old_import"]')).to_have_count(0)
    expect(row(page, "breakdown", "training_started")).to_have_text("100% · 3")

    with page.expect_download() as info:
        page.locator("#dash-export").click()
    recent = tmp_path / "recent.jsonl"
    info.value.save_as(recent)
    names = span_names(parse_otlp_export(recent)[0])
    assert names.count("training_started") == 3 and "old_import" not in names

    page.get_by_label("Time range").select_option(label="All time")
    expect(page.locator("#stat-total")).to_have_text("43")
    with page.expect_download() as info:
        page.locator("#dash-export").click()
    everything = tmp_path / "all.jsonl"
    info.value.save_as(everything)
    assert span_names(parse_otlp_export(everything)[0]).count("old_import") == 40


def test_disabling_stops_new_events_from_appearing(server: LiveServer, page: Page) -> None:
    open_page(page, server, "dashboard")
    enable_by_click(page)
    post_events(server, "training_started", 3)
    server.flush()
    refresh_dashboard(page)
    expect(page.locator("#stat-total")).to_have_text("3")

    page.get_by_role("tab", name="Privacy").click()
    page.get_by_role("switch", name="Share anonymous usage data").click()
    expect(page.locator("#state-pill")).to_have_text("Off")
    page.get_by_role("tab", name="Dashboard").click()
    expect(page.locator("#dash-banner")).to_contain_text("Telemetry is off")

    response = server.client().post("/api/telemetry/events", json={"event_type": "training_started"})
    assert response.json() == {"accepted": False}
    post_events(server, "model_loaded", 4)
    server.flush()
    refresh_dashboard(page)
    expect(page.locator("#stat-total")).to_have_text("3")
    expect(page.locator('#breakdown li[data-key="model_loaded"]')).to_have_count(0)


def test_delete_empties_the_dashboard(server: LiveServer, page: Page) -> None:
    client = server.client()
    client.post("/api/telemetry/consent", json={"enabled": True})
    post_events(server, "training_started", 4, contact="bob@example.org")
    client.post("/api/telemetry/performance", json={"metric_name": "model_load_time", "value": 120})
    client.post("/api/telemetry/errors", json={"type": "ValueError", "message": "x"})
    server.flush()
    open_page(page, server, "dashboard")
    expect(page.locator("#stat-total")).to_have_text("4")

    page.get_by_role("tab", name="Privacy").click()
    page.get_by_role("button", name="Delete my data…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete everything").click()
    expect(page.locator("#announcer")).to_contain_text("deleted")
    page.get_by_role("tab", name="Dashboard").click()
    refresh_dashboard(page)
    expect(page.locator("#stat-total")).to_have_text("0")
    expect(page.locator("#stat-errors")).to_have_text("0")
    expect(page.locator("#breakdown")).to_contain_text("No events yet")
    expect(page.locator("#perf")).to_contain_text("No measurements yet")
    expect(page.locator("#errors")).to_contain_text("No errors")
    expect(page.locator("#redactions")).to_contain_text("Nothing needed redacting")
    expect(page.locator("#stored")).to_have_text(re.compile(r"^\d+ records?"))
