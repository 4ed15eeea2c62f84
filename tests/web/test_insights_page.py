"""The Insights view of the page ``peft-telemetry serve`` shows, in Chromium, over four weeks of history
that ``peft-telemetry demo --days 28`` recorded (a slowdown planted at a version bump, an error burst, an
A/B experiment across simulated installs).

What the page shows is compared with what the service answers (``POST /api/telemetry/insights``), so the
test holds whatever the demo's seed draws; axe-core finds no WCAG 2 A/AA violation at desktop and phone
widths and in dark mode. A log built with the insights tests' builder (a broken split, a pilot with too
few installs) shows both warnings. Screenshots: ``test-artifacts/screenshots/insights-{wide,narrow,dark}.png``
and ``insights-experiment-flags.png``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, ViewportSize, expect

from tests.web.cli_service import CliService, run_cli, serve
from tests.web.conftest import NARROW, SCREENSHOTS, WIDE
from tests.web.test_accessibility import axe_violations
from tests.web.test_layout import no_horizontal_overflow


@pytest.fixture(scope="module")
def history_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliService]:
    """``peft-telemetry serve`` over a ``demo --days 28`` log; consent off, so the page's reads add nothing."""
    home = tmp_path_factory.mktemp("insights-home")
    run_cli(home, "enable")
    run_cli(home, "demo", "--days", "28", "--seed", "7", "--no-progress")
    run_cli(home, "disable")
    with serve(home) as service:
        yield service


@pytest.fixture(scope="module")
def insights(history_service: CliService) -> dict[str, Any]:
    headers = {"x-peft-token": history_service.token}
    answer = httpx.post(f"{history_service.url}/api/telemetry/insights", json={}, headers=headers, timeout=120)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def open_insights(context: BrowserContext, service: CliService) -> Page:
    """Log in with the printed URL, then reach Insights from the Dashboard tab with the keyboard."""
    page = context.new_page()
    page.goto(f"{service.url}/?token={service.token}")
    page.wait_for_selector("body[data-ready]")
    page.get_by_role("tab", name="Dashboard").click()
    page.get_by_role("tab", name="Dashboard").press("ArrowRight")
    expect(page.get_by_role("tab", name="Insights")).to_be_focused()
    expect(page.get_by_role("tab", name="Insights")).to_have_attribute("aria-selected", "true")
    page.wait_for_selector("#view-insights[data-loads]")
    return page


def test_the_insights_view_shows_the_planted_regression_anomalies_heatmap_and_experiment(
    history_service: CliService, insights: dict[str, Any], new_context: Callable[..., BrowserContext]
) -> None:
    planted = [r for r in insights["regressions"]["items"] if r["version"] == "1.2.0"]
    assert planted, "the demo's slowdown at 1.2.0 is in the service's answer"
    page = open_insights(new_context(), history_service)
    view = page.locator("#view-insights")
    expect(view).to_be_visible()
    assert page.url.endswith("#insights")

    card = view.locator(f'.regression[data-series="{planted[0]["series"]}"]')
    expect(card.locator(".regression-version")).to_have_text("1.2.0")
    expect(card.locator(".regression-change .slower")).to_have_text(f"+{round(planted[0]['relative_change'] * 100)}%")
    expect(card.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"Before \(1\.1\.0\): p50 .*After \(1\.2\.0\): p50")
    )
    assert card.locator("tbody tr").count() == 2

    # Anomalies: one numbered mark on the time chart and one table row per anomalous hour.
    anomalies = insights["anomalies"]["items"]
    assert anomalies, "the demo's error burst is in the service's answer"
    hours = {a["window_start_ns"] for a in anomalies[:30]}  # anomalies of the same hour share one mark
    expect(view.locator("#chart-anomalies svg .anomaly")).to_have_count(len(hours))
    burst = anomalies[0]
    row = view.get_by_role("region", name="Anomalous hours").get_by_role("row").nth(1)
    expect(row).to_contain_text(burst["series"])
    expect(row).to_contain_text(f"{burst['day_of_week']} {burst['date']}, {burst['hour']:02d}:00")

    # The heatmap is a table: 7 days x 24 hours, each cell's number as text, matching the service.
    table = view.locator("#heatmap-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(table.locator("tbody tr").first.locator("td")).to_have_count(24)
    busiest = max(insights["heatmap"]["hour_of_week"], key=lambda c: c["count"])
    cell = table.locator("tbody tr").nth(busiest["day_of_week"]).locator("td").nth(busiest["hour"])
    compact = "n => n < 1000 ? String(n) : new Intl.NumberFormat(undefined, {notation: 'compact', "
    compact += "maximumFractionDigits: 1}).format(n)"
    expect(cell).to_have_text(page.evaluate(compact, busiest["count"]))
    expect(cell).to_have_class("heat heat-5")

    # The experiment: its variants, its intervals and what can be read.
    experiment = insights["experiments"]["items"][0]
    exp_card = view.locator(f'.experiment[data-experiment="{experiment["series"]}"]')
    expect(exp_card.locator(".experiment-message")).to_have_text(experiment["message"])
    expect(exp_card.locator('[data-flag="srm"]')).to_have_count(1 if experiment["srm_flagged"] else 0)
    expect(exp_card.locator('[data-flag="too-few-units"]')).to_have_count(0 if experiment["enough_units"] else 1)
    expect(exp_card.locator(".chart svg .ci")).to_have_count(
        sum(len(g["variants"]) for g in experiment["goals"]) + sum(len(m["variants"]) for m in experiment["metrics"])
    )


@pytest.mark.parametrize(
    ("name", "viewport", "scheme"), [("wide", WIDE, "light"), ("narrow", NARROW, "light"), ("dark", WIDE, "dark")]
)
def test_the_insights_view_has_no_axe_violations_fits_the_screen_and_is_saved(
    history_service: CliService,
    new_context: Callable[..., BrowserContext],
    name: str,
    viewport: ViewportSize,
    scheme: str,
) -> None:
    page = open_insights(new_context(viewport=viewport, color_scheme=scheme, bypass_csp=True), history_service)
    heatmap = page.locator(".heat-narrow table" if name == "narrow" else "#heatmap-table")
    expect(heatmap).to_be_visible()
    expect(page.locator("#chart-anomalies svg")).to_be_visible()
    no_horizontal_overflow(page)
    assert axe_violations(page) == [], f"insights, {name}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"insights-{name}.png"), full_page=True)


def _experiment_log(home: Path) -> None:
    """Two experiments over many installs, written as the exporter writes them (the insights tests' builder):
    one whose split is broken (56% control against 50% declared), one with too few installs to compare."""
    here = Path(__file__).resolve().parents[1] / "analytics"
    sys.path[:0] = [str(here), str(here / "insights")]
    try:
        from _insights_data import Arm, build, experiment_rows
    finally:
        del sys.path[:2]

    def arms(control_share: float) -> list[Any]:
        return [Arm("control", control_share, 0.5, 0.3, 1000.0), Arm("checklist", 1 - control_share, 0.5, 0.4, 900.0)]

    rows = experiment_rows(arms(0.56), 2000, 3, name="broken_split")
    rows += experiment_rows(arms(0.5), 12, 11, name="tiny_pilot")
    (home / "telemetry").mkdir(parents=True)
    build(home / "telemetry" / "events.duckdb", rows)


def test_a_broken_split_and_too_few_units_are_said_before_the_results(
    tmp_path: Path, new_context: Callable[..., BrowserContext]
) -> None:
    home = tmp_path / "experiments-home"
    _experiment_log(home)
    with serve(home) as service:
        page = open_insights(new_context(), service)
        broken = page.locator('.experiment[data-experiment="broken_split"]')
        expect(broken.locator('[data-flag="srm"]')).to_contain_text("Sample ratio mismatch")
        expect(broken.locator('[data-flag="too-few-units"]')).to_have_count(0)
        tiny = page.locator('.experiment[data-experiment="tiny_pilot"]')
        expect(tiny.locator('[data-flag="too-few-units"]')).to_contain_text("Too few units")
        expect(tiny.locator('[data-flag="srm"]')).to_have_count(0)
        expect(tiny.locator(".experiment-message")).to_contain_text("Too few units")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "insights-experiment-flags.png"), full_page=True)


def test_the_insights_tab_opens_from_its_link_and_the_pill_says_the_state(
    history_service: CliService, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    page.goto(f"{history_service.url}/?token={history_service.token}#insights")
    expect(page.get_by_role("tab", name="Insights")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#view-insights .regression").first).to_be_visible()
    expect(page.locator("#state-pill-text")).to_have_text("Off")
    assert page.title().startswith("Insights")
