"""Readable numbers: the page's formatting and axis functions, run in the browser that uses them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.web.conftest import LiveServer


def call(page: Page, module: str, function: str, *args: Any) -> Any:
    return page.evaluate(
        "async ([module, fn, args]) => (await import(module))[fn](...args)",
        [f"/static/{module}", function, list(args)],
    )


@pytest.fixture
def blank(server: LiveServer, page: Page) -> Page:
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready]")
    return page


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [
        ("formatNumber", [1234567], "1,234,567"),
        ("formatNumber", [0], "0"),
        ("formatNumber", [None], "\u2013"),  # an en dash: "no value"
        ("formatCompact", [1200], "1.2K"),
        ("formatCompact", [2_500_000], "2.5M"),
        ("formatPercent", [42.345], "42.3%"),
        ("formatPercent", [0.01], "<0.1%"),
        ("formatPercent", [100], "100%"),
        ("formatDuration", [0.42], "0.42 ms"),
        ("formatDuration", [152.4], "152 ms"),
        ("formatDuration", [1520], "1.52 s"),
        ("formatDuration", [200_000], "3 min 20 s"),
        ("formatDuration", [7_500_000], "2 h 5 min"),
        ("formatDuration", [90_000_000], "1 d 1 h"),
        ("formatBytes", [1536], "1.5 KiB"),
        ("formatBytes", [3_400_000], "3.24 MiB"),
        ("formatValue", [1.5, "s"], "1.5 s"),
        ("formatValue", [250, "ms"], "250 ms"),
        ("formatValue", [0.25, "1"], "25.0%"),
        ("formatValue", [2048, "By"], "2 KiB"),
        ("formatValue", [12.5, "tokens"], "12.5 tokens"),
        ("plural", [1, "event"], "1 event"),
        ("plural", [12345, "event"], "12,345 events"),
    ],
)
def test_numbers_read_the_way_people_say_them(blank: Page, function: str, args: list[Any], expected: str) -> None:
    assert call(blank, "format.js", function, *args) == expected


def test_duration_axes_step_in_clock_units(blank: Page) -> None:
    ticks = call(blank, "charts.js", "valueTicks", 0, 200_000, 5, "ms")
    assert [t["label"] for t in ticks] == ["0", "1 min", "2 min", "3 min"]
    small = call(blank, "charts.js", "valueTicks", 0, 480, 5, "ms")
    assert [t["label"] for t in small] == ["0 ms", "100 ms", "200 ms", "300 ms", "400 ms"]


def test_time_axis_ticks_fall_on_round_local_hours(blank: Page) -> None:
    hour = 3_600_000
    start = 1_795_000_000_000 + 17 * 60_000  # not on a round hour
    ticks = call(blank, "format.js", "timeTicks", start, start + 48 * hour, 6)
    assert 2 <= len(ticks) <= 7
    assert all(t["t"] % (3 * hour) == 0 for t in ticks)  # UTC context: local == UTC
    assert all("," in t["label"] for t in ticks)  # a two-day span names the day with the time
