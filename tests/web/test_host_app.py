"""A React app that is not part of the UI package (ui/host-example) imports TelemetryConsent and
TelemetryAnalyticsDashboard from the package's build, is bundled with real React, and runs in Chromium
beside a real ``peft-telemetry serve`` whose event log ``peft-telemetry demo`` filled.

The host's files are answered by the browser itself (Playwright routes) under the service's own origin,
as when PEFT Studio serves its frontend and mounts the API: every API call goes to the real service,
with the token the host passes as a prop (the ``x-peft-token`` header, no cookie).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.web.cli_service import CliService
from tests.web.conftest import HOST_DIST, NARROW, SCREENSHOTS, WIDE


def consent_enabled(service: CliService) -> bool:
    return bool(httpx.get(f"{service.url}/api/telemetry/consent", timeout=10).json()["enabled"])


def open_host(context: BrowserContext, service: CliService) -> Page:
    def answer(route: Route) -> None:
        name = route.request.url.split("/host-app/", 1)[1].split("#", 1)[0].split("?", 1)[0] or "index.html"
        path = (HOST_DIST / name).resolve()
        if not path.is_relative_to(HOST_DIST.resolve()) or not path.is_file():
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(status=200, body=path.read_bytes(), content_type=mimetypes.guess_type(path.name)[0] or "")

    page = context.new_page()
    page.route(f"{service.url}/host-app/**", answer)
    page.goto(f"{service.url}/host-app/index.html#token={service.token}")
    return page


def test_the_host_app_turns_consent_on_in_the_service_and_draws_the_demo_log(
    demo_service: CliService, new_context: Callable[..., BrowserContext]
) -> None:
    page = open_host(new_context(), demo_service)
    switch = page.get_by_role("switch", name="Share anonymous usage data")
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_have_attribute("aria-disabled", "false")
    assert consent_enabled(demo_service) is False

    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    assert consent_enabled(demo_service) is True
    switch.click()  # off again: the dashboard's own reads then record nothing that would move its numbers
    expect(switch).to_have_attribute("aria-checked", "false")
    assert consent_enabled(demo_service) is False

    page.get_by_role("button", name="Insights").click()
    headers = {"x-peft-token": demo_service.token}
    report = httpx.post(f"{demo_service.url}/api/telemetry/analytics", json={}, headers=headers, timeout=60).json()
    total = report["totals"]["total_events"]
    assert total > 0
    expect(page.locator("#stat-total")).to_have_text(f"{total:,}")
    top = report["event_breakdown"][0]
    expect(page.locator(f'#breakdown li[data-key="{top["event_type"]}"] .barlist-num')).to_contain_text(
        f"· {top['count']:,}"
    )
    expect(page.locator("#perf tbody tr").first).to_be_visible()
    expect(page.locator("#chart-time svg rect.col").first).to_be_visible()
    expect(page.locator("#system")).to_contain_text("Python")


@pytest.mark.parametrize(("size", "viewport"), [("wide", WIDE), ("narrow", NARROW)])
def test_the_host_app_screens_are_saved(
    demo_service: CliService, new_context: Callable[..., BrowserContext], size: str, viewport: dict[str, int]
) -> None:
    page = open_host(new_context(viewport=viewport), demo_service)
    expect(page.get_by_role("switch", name="Share anonymous usage data")).to_have_attribute("aria-disabled", "false")
    expect(page.locator("#preview-redactions .chip").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"host-settings-{size}.png"), full_page=True)
    page.get_by_role("button", name="Insights").click()
    expect(page.locator("#chart-time svg")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the host's dashboard is {width}px wide on a {viewport['width']}px screen"
    page.screenshot(path=str(SCREENSHOTS / f"host-insights-{size}.png"), full_page=True)
