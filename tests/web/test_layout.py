"""Both pages at 1280x800 and at 390x844: nothing overflows, labels and contrast hold; screenshots saved.

Screenshots go to ``test-artifacts/screenshots/`` (git-ignored): ``consent-wide.png``,
``consent-narrow.png``, ``dashboard-wide.png``, ``dashboard-narrow.png``, plus the empty dashboard.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from tests.web.conftest import NARROW, SCREENSHOTS, WIDE, LiveServer, open_page, refresh_dashboard

# Computes, for every visible text element, its colour against the first opaque background behind it.
_CONTRAST = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg, [hidden], dialog:not([open])") || !el.offsetParent) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || Number(style.opacity) < 1) continue;
    const fg = parse(style.color).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    out.push({ text: el.textContent.trim().slice(0, 40), ratio: (a + 0.05) / (b + 0.05), need: large ? 3 : 4.5 });
  }
  return out;
}
"""

# Controls without an accessible name, by the rules a screen reader uses (roughly).
_UNNAMED = """
() => [...document.querySelectorAll("button, a[href], select, textarea, input, [role=switch], [role=tab]")]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => {
    const byLabel = el.id && document.querySelector(`label[for="${el.id}"]`);
    const byRefs = (el.getAttribute("aria-labelledby") || "").split(" ").some((id) => document.getElementById(id));
    return !(el.textContent.trim() || el.getAttribute("aria-label") || byLabel || byRefs || el.closest("label"));
  })
  .map((el) => el.outerHTML.slice(0, 80))
"""


def fill_with_data(server: LiveServer) -> None:
    client = server.client()
    assert client.post("/api/telemetry/consent", json={"enabled": True}).status_code == 200
    kinds = {"training_started": 40, "model_loaded": 25, "dataset_uploaded": 12, "adapter_saved": 5}
    for event_type, count in kinds.items():
        for i in range(count):
            props = {"algorithm": "lora", "model_name": "llama-2-7b", "step": i}
            if i % 4 == 0:
                props["contact"] = "alice@example.com"
            client.post("/api/telemetry/events", json={"event_type": event_type, "properties": props})
    for i in range(60):
        client.post("/api/telemetry/performance", json={"metric_name": "model_load_time", "value": 800 + 37 * i})
        client.post("/api/telemetry/performance", json={"metric_name": "tokenize_batch", "value": 3 + (i % 9)})
    for error_type, count in (("torch.cuda.OutOfMemoryError", 4), ("ValueError", 2)):
        for _ in range(count):
            client.post("/api/telemetry/errors", json={"type": error_type, "message": "failed in /home/alice/x"})
    server.flush()


def no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], f"the page is {width}px wide on a {viewport['width']}px screen"


@pytest.mark.parametrize(("size", "viewport"), [("wide", WIDE), ("narrow", NARROW)])
def test_both_pages_fit_the_screen_read_clearly_and_are_saved(
    server: LiveServer, new_context: Callable[..., BrowserContext], size: str, viewport: ViewportSize
) -> None:
    fill_with_data(server)
    page = new_context(viewport=viewport).new_page()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    open_page(page, server, "consent")
    expect(page.locator("#preview-redactions .chip").first).to_be_visible()
    no_horizontal_overflow(page)
    page.screenshot(path=str(SCREENSHOTS / f"consent-{size}.png"), full_page=True)
    check_readable(page)

    page.get_by_role("tab", name="Dashboard").click()
    page.wait_for_selector("#view-dashboard[data-renders]")
    refresh_dashboard(page)
    expect(page.locator("#chart-time svg")).to_be_visible()
    expect(page.locator("#chart-perf svg")).to_be_visible()
    no_horizontal_overflow(page)
    # Charts are drawn at their container's width, not wider.
    for chart in page.locator(".chart svg").all():
        box, parent = chart.bounding_box(), chart.locator("xpath=..").bounding_box()
        assert box is not None and parent is not None and box["width"] <= parent["width"] + 1
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{size}.png"), full_page=True)
    check_readable(page)


def check_readable(page: Page) -> None:
    low = [c for c in page.evaluate(_CONTRAST) if c["ratio"] < c["need"]]
    assert not low, f"text below WCAG AA contrast: {low[:5]}"
    assert page.evaluate(_UNNAMED) == []


def test_dark_mode_reads_as_clearly(server: LiveServer, new_context: Callable[..., BrowserContext]) -> None:
    fill_with_data(server)
    page = new_context(color_scheme="dark").new_page()
    open_page(page, server, "consent")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(245, 246, 248)"
    check_readable(page)
    page.get_by_role("tab", name="Dashboard").click()
    page.wait_for_selector("#view-dashboard[data-renders]")
    check_readable(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-dark-wide.png"))


def test_the_empty_dashboard_says_what_to_do(server: LiveServer, page: Page) -> None:
    open_page(page, server, "dashboard")
    expect(page.locator("#dash-banner")).to_contain_text("Telemetry is off")
    expect(page.locator("#stat-total")).to_have_text("0")
    expect(page.locator("#chart-time")).to_contain_text("Turn telemetry on in the Privacy tab")
    expect(page.locator("#breakdown")).to_contain_text('track_event("training_started")')
    expect(page.locator("#perf")).to_contain_text("track_performance(")
    expect(page.locator("#errors")).to_contain_text("No errors")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-empty-wide.png"), full_page=True)
    page.get_by_role("link", name="Turn it on in Privacy").click()
    expect(page.locator("#view-consent")).to_be_visible()


def test_keyboard_focus_is_visible(server: LiveServer, page: Page) -> None:
    open_page(page, server)
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "focused control shows no outline"
