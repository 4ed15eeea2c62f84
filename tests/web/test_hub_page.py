"""The page in hub mode (contract C1) in Chromium: the built page with a ``page-kind`` block saying "hub"
shows Fleet, Dashboard and Insights (no Privacy), and the Fleet view draws what ``run_fleet_report`` makes
of a real Parquet lake, with what k left out. The hub's own server is built apart: here the service's page
gets the block inserted on its way to the browser, and GET /api/telemetry/fleet answers with that report.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pytest
from playwright.sync_api import BrowserContext, Page, Route, ViewportSize, expect

from analytics.fleet.reports import run_fleet_report
from exporters.lake import LAKE_SPANS_ARROW, LakeWriter
from tests.web.conftest import NARROW, WIDE, LiveServer, open_page
from tests.web.test_accessibility import axe_violations

DAY_NS = 86_400 * 10**9
START_NS = 1_790_000_000 * 10**9
K = 3


def _lake(root: Path) -> Path:
    """Seven installs over three days: two app versions (one of 2 installs), three OSes (one of 1)."""
    rows: list[dict[str, Any]] = []
    for install in range(7):
        owner = hashlib.sha256(f"install-{install}".encode()).hexdigest()
        for i in range(4 + install):
            t = START_NS + (i % 3) * DAY_NS + install
            rows.append({
                "share_id": f"{owner}:{i}", "install_id": owner, "trace_id": f"{install:016x}{i:016x}",
                "span_id": f"{i:016x}", "name": "e", "event_type": "e", "category": "error" if i == 0 else "event",
                "session_id": f"s{install}", "start_ns": t, "end_ns": t, "received_ns": t, "hub_id": "web-test",
                "app_version": "1.0" if install < 5 else "2.0-beta",
                "os_type": ("linux", "darwin", "windows")[min(install // 3, 2)],
            })  # fmt: skip
    LakeWriter(root).write(pa.Table.from_pylist(rows, LAKE_SPANS_ARROW))
    return root


def open_as_hub(page: Page, server: LiveServer, fleet: dict[str, Any]) -> None:
    block = json.dumps({"kind": "hub", "hub_id": "web-test", "min_installs": K})

    def page_with_block(route: Route) -> None:
        response = route.fetch()
        html = response.text().replace(
            "</body>", f'<script type="application/json" id="page-kind">{block}</script></body>'
        )
        route.fulfill(response=response, body=html)

    open_page(page, server)  # the token becomes a cookie (a redirect, which routes do not see)
    page.route(lambda url: urlsplit(url).path == "/", page_with_block)
    page.route("**/api/telemetry/fleet", lambda route: route.fulfill(json=fleet))
    open_page(page, server, login=False)


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["wide", "narrow"])
def test_the_hub_page_shows_the_fleet_and_no_privacy_view(
    server: LiveServer, new_context: Callable[..., BrowserContext], tmp_path: Path, viewport: ViewportSize
) -> None:
    fleet = run_fleet_report(_lake(tmp_path / "lake"), "fleet", min_installs=K)
    assert fleet["totals"] is not None and fleet["suppressed"]["versions"] == 1
    page = new_context(viewport=viewport, bypass_csp=True).new_page()
    open_as_hub(page, server, fleet)

    expect(page.get_by_role("tab")).to_have_text(["Fleet", "Dashboard", "Insights"])
    expect(page.get_by_role("tab", name="Fleet")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#state-pill-text")).to_have_text("Fleet hub web-test")
    expect(page.locator("#stat-fleet-installs")).to_have_text(str(fleet["totals"]["installs"]))
    expect(page.locator("#stat-fleet-events")).to_have_text(str(fleet["totals"]["events"]))
    versions = page.locator("#fleet-versions li")
    expect(versions).to_have_count(len(fleet["versions"]))
    expect(page.locator("#fleet-os li")).to_have_count(len(fleet["os_mix"]))
    expect(page.locator("#chart-fleet-daily svg rect.col")).to_have_count(len(fleet["daily_installs"]))
    note = page.locator("#fleet-suppressed")
    expect(note).to_contain_text(f"fewer than {K} installs")
    expect(note).to_contain_text("1 app version, 1 operating system")
    assert page.locator("#view-consent").count() == 0
    assert page.evaluate("document.getElementById('page-kind')") is None  # read once and removed
    assert axe_violations(page) == [], "fleet view"

    page.get_by_role("tab", name="Dashboard").click()
    expect(page.locator("#dash-subtitle")).to_contain_text("shared with this hub")
    expect(page.locator("#dash-export")).to_have_count(0)


def test_without_the_block_the_page_is_an_install_page(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    expect(page.get_by_role("tab")).to_have_text(["Privacy", "Dashboard", "Insights"])
    expect(page.get_by_role("region", name="Share with your organisation")).to_be_visible()
