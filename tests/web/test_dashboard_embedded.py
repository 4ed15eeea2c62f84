"""``GET /dashboard`` streams the page with its first report inside: the same answer as the API, drawn
without asking the API again, and a page that still works when the report cannot be read."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Request, expect

from tests.web.conftest import LiveServer
from tests.web.test_dashboard_page import post_events, row

_BLOCK = re.compile(r'<script type="application/json" id="dashboard-report">(.*?)</script>', re.DOTALL)


def _enable_and_record(server: LiveServer) -> None:
    server.client().post("/api/telemetry/consent", json={"enabled": True})
    post_events(server, "training_started", 3)
    post_events(server, "</script><script>alert(1)</script>", 1)  # an event name is user data
    server.flush()
    server.client().post("/api/telemetry/consent", json={"enabled": False})  # our own reads record nothing


def test_the_dashboard_page_carries_the_same_report_as_the_api(server: LiveServer) -> None:
    _enable_and_record(server)
    with server.client() as client:
        page = client.get("/dashboard")
        api = client.post("/api/telemetry/analytics", json={}).json()
        consent_page = client.get("/").text
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    [block] = _BLOCK.findall(page.text)
    assert "<" not in block  # escaped as \u003c: no event name can end the block
    embedded = json.loads(block)
    assert embedded["totals"] == api["totals"] and embedded["event_breakdown"] == api["event_breakdown"]
    assert {b["event_type"] for b in embedded["event_breakdown"]} == {
        "training_started",
        "</script><script>alert(1)</script>",
    }
    assert page.text.rstrip().endswith("</html>") and page.text.count("</body>") == 1
    assert not _BLOCK.search(consent_page) and "{{report}}" not in consent_page


def test_without_the_token_the_dashboard_is_the_public_shell(server: LiveServer) -> None:
    _enable_and_record(server)
    with server.client(token=False) as client:
        page = client.get("/dashboard")
        assert client.post("/api/telemetry/analytics", json={}).status_code == 401
        wrong = client.get("/dashboard", cookies={"peft_telemetry_token": "x" * 43})
    assert page.status_code == 200 and "{{report}}" not in page.text
    assert not _BLOCK.search(page.text) and not _BLOCK.search(wrong.text)
    assert "training_started" not in page.text
    with server.client() as client:  # positive control: the same request with the token carries it
        assert _BLOCK.search(client.get("/dashboard").text)


def test_only_a_page_the_user_opens_gets_the_report(server: LiveServer) -> None:
    """Another site's page can make the browser GET /dashboard (an image, a prefetch): that must not
    cost a whole report, so it gets the plain page (or the server's guard refuses it outright)."""
    with server.client() as client:
        for headers in (
            {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document"},
            {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"},
            {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "document"},
            {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "image"},
        ):
            response = client.get("/dashboard", headers=headers)
            assert response.status_code == 403 or not _BLOCK.search(response.text), headers
            assert "{{report}}" not in response.text
        for headers in ({"Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document"}, {}):
            assert _BLOCK.search(client.get("/dashboard", headers=headers).text), headers


def test_the_first_draw_uses_the_embedded_report_and_later_draws_ask_the_api(server: LiveServer, page: Page) -> None:
    _enable_and_record(server)
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/telemetry/analytics"):
            posts.append(request.url)

    page.goto(server.login_url)  # the printed URL: swaps the token for the cookie
    page.on("request", on_request)
    page.goto(server.url + "/dashboard")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#stat-total")).to_have_text("4")
    expect(row(page, "breakdown", "training_started")).to_have_text("75.0% · 3")
    expect(page.locator("#breakdown")).to_contain_text("</script><script>alert(1)</script>")
    assert posts == [] and page.locator("#dashboard-report").count() == 0  # used once, then gone

    page.get_by_label("Time range").select_option(label="Last 24 hours")
    expect(page.locator("#stat-total")).to_have_text("4")
    page.wait_for_function("() => document.querySelector('#view-dashboard').dataset.renders === '2'")
    assert len(posts) == 1  # a new range is a new question for the API


def test_without_a_readable_event_log_the_page_asks_the_api_and_says_what_is_wrong(
    server: LiveServer, page: Page
) -> None:
    server.service.event_log.close()  # every read now fails: no report in the page, a 503 from the API
    with server.client() as client:
        assert not _BLOCK.search(client.get("/dashboard").text)
    page.goto(server.login_url)
    page.goto(server.url + "/dashboard")
    page.wait_for_selector("body[data-ready]")
    expect(page.locator("#alert")).to_contain_text("Could not load the analytics")
    expect(page.locator("#stat-total")).to_have_text("\u2013")
