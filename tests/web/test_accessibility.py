"""axe-core (from the UI's npm dependencies) in Chromium: no WCAG 2 A/AA violation on any view of the page
or of the host app, at desktop and phone widths, light and dark.

axe is injected by the test as a script; the page's own CSP would refuse an injected script, so these
contexts bypass it (the CSP itself is asserted in test_routes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from tests.web.cli_service import CliService
from tests.web.conftest import NARROW, ROOT, WIDE, LiveServer, open_page, refresh_dashboard
from tests.web.test_host_app import open_host
from tests.web.test_layout import fill_with_data

AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"
_RUN = """
async () => {
  const result = await axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}
"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make ui-test` (npm ci in ui/)")
    if page.evaluate("typeof window.axe") == "undefined":
        page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = page.evaluate(_RUN)
    return result


def test_every_view_of_the_page_has_no_violations(
    server: LiveServer, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context(bypass_csp=True).new_page()
    open_page(page, server, "dashboard")
    assert axe_violations(page) == [], "empty dashboard"
    fill_with_data(server)  # once: every width and colour scheme below reads the same data
    variants: list[tuple[str, ViewportSize, str]] = [
        ("wide", WIDE, "light"),
        ("narrow", NARROW, "light"),
        ("dark", WIDE, "dark"),
    ]
    for name, viewport, scheme in variants:
        page = new_context(viewport=viewport, color_scheme=scheme, bypass_csp=True).new_page()
        open_page(page, server, "dashboard")
        refresh_dashboard(page)
        expect(page.locator("#chart-perf svg")).to_be_visible()
        assert axe_violations(page) == [], f"dashboard, {name}"
        page.get_by_role("tab", name="Privacy").click()
        expect(page.locator("#preview-redactions .chip").first).to_be_visible()
        page.locator("#history-details summary").click()
        expect(page.locator("#consent-history li").first).to_be_visible()
        assert axe_violations(page) == [], f"consent, {name}"
        page.get_by_role("button", name="Delete my data…").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        assert axe_violations(page) == [], f"delete dialog, {name}"
        page.context.close()


@pytest.mark.parametrize("viewport", [WIDE, NARROW], ids=["wide", "narrow"])
def test_the_host_app_views_have_no_violations(
    demo_service: CliService,
    new_context: Callable[..., BrowserContext],
    viewport: ViewportSize,
) -> None:
    page = open_host(new_context(viewport=viewport), demo_service)
    expect(page.locator("#preview-redactions .chip").first).to_be_visible()
    assert axe_violations(page) == [], "host settings"
    page.get_by_role("button", name="Insights").click()
    expect(page.locator("#chart-time svg")).to_be_visible()
    assert axe_violations(page) == [], "host insights"


def test_axe_does_flag_a_violation_here(server: LiveServer, new_context: Callable[..., BrowserContext]) -> None:
    """The zero above means something: the same run finds a nameless button added to the page."""
    page = new_context(bypass_csp=True).new_page()
    open_page(page, server)
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert "button-name" in {v["id"] for v in axe_violations(page)}
