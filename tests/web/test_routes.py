"""The page and its files, as the real server serves them: complete, self-contained, locked down."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from exporters.eventlog import schema
from telemetry.system import build_resource
from telemetry.web import collected_items, static_names
from tests.web.conftest import LiveServer, open_page

# Static imports in the built (minified) modules: `import{a as b}from"./format.js"`, `import "./x.js"`.
_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([a-z0-9_-]+\.js)"')
_ASSET = re.compile(r"""(?:src|href)="(static/[^"]+)\"""")
# The one URL allowed in the files: the SVG namespace, which is a name, not a fetch.
_URL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.IGNORECASE)
_ALLOWED_URLS = {"http://www.w3.org"}


def test_the_page_is_served_with_a_strict_content_security_policy(server: LiveServer) -> None:
    with server.client(token=False) as client:
        for path in ("/", "/dashboard"):
            response = client.get(path)
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            # No inline script: every <script> either loads a file or is inert JSON.
            for tag in re.findall(r"<script[^>]*>", response.text):
                assert 'src="static/' in tag or 'type="application/json"' in tag, tag


def test_every_file_the_page_needs_is_served_from_the_package(server: LiveServer) -> None:
    with server.client(token=False) as client:
        page = client.get("/").text
        wanted = set(_ASSET.findall(page))
        assert {"static/app.js", "static/style.css"} <= wanted
        seen: set[str] = set()
        while wanted - seen:
            path = (wanted - seen).pop()
            seen.add(path)
            response = client.get("/" + path)
            assert response.status_code == 200, path
            if path.endswith(".js"):
                assert response.headers["content-type"].startswith("text/javascript")
                # Follow the module graph: an import of a file that is not served would break the page.
                wanted |= {f"static/{name}" for name in _IMPORT.findall(response.text)}
            elif path.endswith(".css"):
                assert response.headers["content-type"].startswith("text/css")
        assert {p.removeprefix("static/") for p in seen} <= set(static_names())
        assert {"app.js", "charts.js", "format.js", "style.css"} <= {p.removeprefix("static/") for p in seen}


def test_no_file_loads_anything_from_another_host(server: LiveServer) -> None:
    with server.client(token=False) as client:
        bodies = {name: client.get(f"/static/{name}").text for name in static_names()}
        bodies["index.html"] = client.get("/").text
    for name, body in bodies.items():
        found = {m.group(0).lower() for m in _URL.finditer(body)} - _ALLOWED_URLS
        assert not found, f"{name} refers to {found}"


def test_unchanged_files_answer_304_and_unknown_names_404(server: LiveServer) -> None:
    with server.client(token=False) as client:
        first = client.get("/static/app.js")
        etag = first.headers["etag"]
        again = client.get("/static/app.js", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        for name in ("missing.js", "..%2Fconsent.py", "%2E%2E%2F_routes.py", "index.html", "APP.JS", "app.js.map"):
            response = client.get(f"/static/{name}")
            assert response.status_code == 404, name
        assert client.get("/static/../web/_routes.py").status_code == 404


def test_what_we_collect_is_also_an_endpoint_for_host_apps(server: LiveServer) -> None:
    with server.client(token=False) as client:  # public, like /rules: it describes the policy
        response = client.get("/api/telemetry/collected")
    assert response.status_code == 200
    assert response.json() == [item.model_dump() for item in collected_items()]


def test_what_we_collect_is_embedded_and_names_only_stored_fields(server: LiveServer) -> None:
    with server.client(token=False) as client:
        page = client.get("/").text
    block = re.search(r'<script type="application/json" id="collected-data">(.*?)</script>', page, re.S)
    assert block is not None
    embedded = json.loads(block.group(1))
    assert embedded == [item.model_dump() for item in collected_items()]
    # Every field the page names exists where the writer puts it.
    stored = set(schema.column_names(schema.SPANS)) | set(schema.column_names(schema.CONSENT_LEDGER))
    attribute_keys = {schema.ATTR_ERROR_CATEGORY, "http.route", "http.method", "http.status_code"}
    resource_keys = set(build_resource("app", "0", "s").attributes)
    for item in embedded:
        assert item["fields"], item["id"]
        for name in item["fields"]:
            assert name in stored | attribute_keys | resource_keys, (item["id"], name)
    assert {"events", "errors", "performance", "http", "system", "consent"} == {i["id"] for i in embedded}


def test_the_page_runs_under_its_policy_without_a_violation(server: LiveServer, page: Page) -> None:
    """The built page (modules, styles, charts) needs nothing the policy refuses: no inline script or
    style, no eval, no other origin. The browser reports each refusal as a securitypolicyviolation."""
    page.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    open_page(page, server, "dashboard")
    expect(page.locator("#stat-total")).to_have_text("0")
    page.get_by_role("tab", name="Privacy").click()
    expect(page.locator("#preview-redactions li").first).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
    assert [e for e in errors if "Content Security Policy" in e] == []
