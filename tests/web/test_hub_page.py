"""The hub's page end to end in Chromium: a real ``peft-telemetry hub --min-installs 5`` process over a real
Parquet lake (40 installs of tests/fleet/_insights_lake.py over four weeks, plus planted small groups), opened
at the URL the hub prints.

The token becomes a cookie and leaves the address bar; the page shows Fleet, Dashboard and Insights (no
Privacy) and each draws what the hub's API answers: the fleet report, the dashboard report (whose time
buckets and histogram bins of fewer than k installs are left out, so the charts must place what remains
by its start, gaps included), and the insights report; each says what was left out. axe finds nothing
on any view, wide, narrow or dark.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from analytics.fleet.reports import run_fleet_report
from exporters.lake import LAKE_SPANS_ARROW, LakeWriter
from tests.web.conftest import NARROW, SCREENSHOTS, LiveServer, open_page
from tests.web.test_accessibility import axe_violations

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fleet"))
from _fleet_helpers import Hub, start_hub
from _insights_lake import DAY, MONDAY, NS, WEEKS, build_lake, install_id

K = 5
INSTALLS = 40
LATE_DAY = WEEKS * 7 + 7  # a week after the rest: the days between are empty buckets (left out)
LONELY_DAY = WEEKS * 7 + 3  # 2 installs only: a bucket of fewer than K installs (left out)
METRIC = "export_time"  # the slowest metric: its histogram has bins of K installs and a bin of 2 (left out)


def _planted() -> pa.Table:
    rows: list[dict[str, Any]] = []

    def add(i: int, t: int, category: str, **extra: Any) -> None:
        owner = install_id(i)
        rows.append({
            "share_id": f"planted:{owner}:{len(rows)}", "install_id": owner, "trace_id": f"{i:032x}",
            "span_id": f"{len(rows):016x}", "name": category, "kind": "INTERNAL", "start_ns": t, "end_ns": t,
            "status_code": "UNSET", "category": category, "session_id": f"p{i}", "attributes": "{}",
            "resource": "{}", "app_version": "1.3.0", "os_type": "linux", "received_ns": t + NS, "hub_id": "hub-a",
            **extra,
        })  # fmt: skip

    for i in range(K + 1):
        add(i, MONDAY + LATE_DAY * DAY + i * NS, "event", event_type="model_loaded")
        for value in (100_000.0, 150_000.0, 300_000.0):  # bins 0, 5 and 19 of 20
            add(i, MONDAY + i * NS, "performance", metric_name=METRIC, metric_unit="ms", metric_value=value)
    for i in (7, 8):
        add(i, MONDAY + LONELY_DAY * DAY, "event", event_type="model_loaded")
        add(i, MONDAY + i * NS, "performance", metric_name=METRIC, metric_unit="ms", metric_value=200_000.0)
    return pa.Table.from_pylist(rows, LAKE_SPANS_ARROW)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    lake = build_lake(tmp_path_factory.mktemp("hub-page") / "lake", installs=INSTALLS)
    LakeWriter(lake).write(_planted())
    running = start_hub(lake, None, "--min-installs", str(K))
    try:
        yield running
    finally:
        running.stop()


def _api(hub: Hub) -> httpx.Client:
    token = re.search(r"[?&]token=([^&\s]+)", hub.dashboard)
    assert token, hub.dashboard
    return httpx.Client(base_url=f"http://127.0.0.1:{hub.port}", headers={"x-peft-token": token.group(1)}, timeout=120)


def _open(new_context: Callable[..., BrowserContext], hub: Hub, failed: list[str], **options: Any) -> Page:
    """The printed URL opened as a user does; every answer of 400 or more goes to ``failed``."""
    page = new_context(bypass_csp=True, **options).new_page()
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(hub.dashboard)
    page.wait_for_selector("body[data-ready]")
    return page


def _screenshot(page: Page, view: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"hub-{view}.png"), full_page=True)


def _columns(chart: Locator) -> list[tuple[float, float]]:
    """Each drawn column's (left x, width), one per bucket (an errors column shares its bucket's x)."""
    rects = chart.locator("svg rect.col").evaluate_all(
        "rs => rs.map(r => [Number(r.getAttribute('x')), Number(r.getAttribute('width'))])"
    )
    return sorted({(round(x, 1), w) for x, w in rects})


def _placed_by_value(xs: list[float], values: list[float], what: str) -> None:
    """The columns' x grow in proportion to their buckets' starts: gaps stay gaps, nothing is shifted."""
    assert len(xs) == len(values) >= 3, what
    scale = (xs[-1] - xs[0]) / (values[-1] - values[0])
    for x, v in zip(xs, values, strict=True):
        assert abs(x - (xs[0] + (v - values[0]) * scale)) <= 1.5, f"{what}: a column is not at its start"


def test_the_hub_page_in_chromium(hub: Hub, new_context: Callable[..., BrowserContext]) -> None:
    with _api(hub) as api:
        fleet = api.get("/api/telemetry/fleet").json()
        analytics = api.post("/api/telemetry/analytics", json={}).json()
        insights = api.post("/api/telemetry/insights", json={}).json()
    assert fleet == run_fleet_report(hub.lake, "fleet", min_installs=K)
    assert fleet["totals"]["installs"] == INSTALLS and fleet["suppressed"]["versions"] >= 1  # the beta

    failed: list[str] = []
    page = _open(new_context, hub, failed)
    page.wait_for_selector("#fleet-suppressed")
    assert "token" not in page.url and page.url.endswith("/")
    [cookie] = page.context.cookies()
    assert cookie["name"] == "peft_telemetry_token" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Fleet: the fleet report.
    expect(page.get_by_role("tab")).to_have_text(["Fleet", "Dashboard", "Insights"])
    expect(page.get_by_role("tab", name="Fleet")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#stat-fleet-installs")).to_have_text(str(INSTALLS))
    expect(page.locator("#stat-fleet-events")).to_have_text(f"{fleet['totals']['events']:,}")
    expect(page.locator("#fleet-versions li")).to_have_count(len(fleet["versions"]))
    for v in fleet["versions"]:
        expect(page.locator("#fleet-versions")).to_contain_text(v["app_version"])
    expect(page.locator("#fleet-os li")).to_have_count(len(fleet["os_mix"]))
    expect(page.locator("#fleet-suppressed")).to_contain_text(f"fewer than {K} installs")
    assert page.locator("#view-consent").count() == 0
    assert axe_violations(page) == [], "fleet view"
    _screenshot(page, "fleet")

    # Dashboard: the fleet analytics, buckets and bins at their own places.
    page.get_by_role("tab", name="Dashboard").click()
    page.wait_for_selector("#view-dashboard[data-renders]")
    expect(page.locator("#stat-total")).to_have_text(f"{analytics['totals']['total_events']:,}")
    over = analytics["events_over_time"]
    starts = [b["start_ns"] for b in over["buckets"] if b["events"] + b["errors"] > 0]
    assert any(b - a > over["bucket_ns"] for a, b in itertools.pairwise(starts)), "no gap planted"
    time_columns = _columns(page.locator("#chart-time"))
    _placed_by_value([x for x, _ in time_columns], [float(s) for s in starts], "events over time")
    histogram = analytics["slowest_distribution"]
    assert histogram["metric_name"] == METRIC and analytics["suppressed"]["slowest_distribution"] >= 1
    lows = [b["lower"] for b in histogram["bins"]]
    assert len(lows) == 3, lows  # bins 0, 5 and 19: the one of 2 installs and the empty ones left out
    bins = _columns(page.locator("#chart-perf"))
    _placed_by_value([x for x, _ in bins], lows, "histogram")
    assert max(w for _, w in bins) < (bins[-1][0] - bins[0][0]) / 10, "a bin drawn wider than its range"
    note = page.locator("#dash-suppressed")
    expect(note).to_contain_text(f"fewer than {K} installs")
    expect(note).to_contain_text(f"{analytics['installs']} installs")
    expect(page.locator("#updated")).not_to_contain_text("automatically")  # no status poll on a hub
    assert page.get_by_role("heading", name="System information").count() == 0  # one install's machine
    assert axe_violations(page) == [], "dashboard view"
    _screenshot(page, "dashboard")

    # Insights: the fleet insights.
    page.get_by_role("tab", name="Insights").click()
    page.wait_for_selector("#view-insights[data-loads]")
    expect(page.locator("#heatmap-table")).to_be_visible()
    assert insights["min_installs"] == K and sum(insights["suppressed"].values()) >= 1
    insights_note = page.locator("#insights-suppressed")
    expect(insights_note).to_contain_text(f"fewer than {K} installs")
    expect(insights_note).to_contain_text(f"{insights['suppressed']['heatmap_cells']} heatmap cells")
    assert axe_violations(page) == [], "insights view"
    _screenshot(page, "insights")

    for name, options in (("narrow", {"viewport": NARROW}), ("dark", {"color_scheme": "dark"})):
        other = _open(new_context, hub, failed, **options)
        for view, drawn in (("Fleet", "#fleet-suppressed"), ("Dashboard", "#view-dashboard[data-renders]"),
                            ("Insights", "#view-insights[data-loads]")):  # fmt: skip
            other.get_by_role("tab", name=view).click()
            other.wait_for_selector(drawn)
            assert axe_violations(other) == [], f"{view} view, {name}"
    assert failed == [], "the page asked for what the hub does not serve"


def test_without_its_token_the_hub_page_says_which_link_to_open_and_a_small_period_shows_nothing(
    hub: Hub, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    page.goto(f"http://127.0.0.1:{hub.port}/")
    alert = page.locator("#alert")
    expect(alert).to_contain_text("not allowed without the access token")
    expect(alert).to_contain_text("peft-telemetry hub printed")

    page.goto(hub.dashboard)
    page.wait_for_selector("body[data-ready]")
    expect(alert).to_be_hidden()
    page.get_by_role("tab", name="Dashboard").click()
    page.wait_for_selector("#view-dashboard[data-renders]")
    page.get_by_label("Time range").select_option(label="Last 7 days")  # the lake's weeks are long past
    expect(page.locator("#dash-suppressed")).to_contain_text(f"Fewer than {K} installs shared anything")
    expect(page.locator("#stat-total")).to_have_text("0")


def test_without_the_block_the_page_is_an_install_page(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    expect(page.get_by_role("tab")).to_have_text(["Privacy", "Dashboard", "Insights"])
    expect(page.get_by_role("region", name="Share with your organisation")).to_be_visible()
