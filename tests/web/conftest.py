"""A real telemetry service under uvicorn on 127.0.0.1, and Debian's chromium driven by Playwright.

Each test gets its own data home and server (nothing leaks between tests); the browser process is shared
by the session, each test gets a fresh context (no cookies, no cache). Screenshots go to
``test-artifacts/screenshots/`` at the repository root (git-ignored).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, expect, sync_playwright

from telemetry.server import create_app
from telemetry.server.deps import STATE_SERVICE, STATE_TOKEN
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings
from tests.web.cli_service import CliService, run_cli, serve

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: these machines are shared and noisy, and a slow run must not read as a broken page.
expect.set_options(timeout=15_000)

#: The host-app example, bundled by `make ui-test` (ui/host-example).
HOST_DIST = ROOT / "ui" / "host-example" / "dist"

WIDE: ViewportSize = {"width": 1280, "height": 800}
NARROW: ViewportSize = {"width": 390, "height": 844}


@dataclass
class LiveServer:
    """The running service: its URL, token, data home, and a client that carries the token."""

    url: str
    token: str
    home: Path
    app: FastAPI
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def service(self) -> TelemetryService:
        service = getattr(self.app.state, STATE_SERVICE)
        assert isinstance(service, TelemetryService)
        return service

    @property
    def login_url(self) -> str:
        """The URL ``peft-telemetry serve`` prints: opening it swaps the token for a cookie."""
        return f"{self.url}/?token={self.token}"

    def client(self, *, token: bool = True) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def flush(self) -> None:
        """Everything sent so far is in the event log (the page then sees it on its next read)."""
        assert self.service.flush(30)

    def close(self) -> None:
        for client in self._clients:
            client.close()


def _serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread, sock


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start a server on a fresh data home; ``before_start(home)`` may seed the event log first."""
    running: list[tuple[LiveServer, uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(before_start: Callable[[Path], Any] | None = None, **overrides: Any) -> LiveServer:
        home = tmp_path / f"home{len(running)}"
        if before_start is not None:
            before_start(home)
        options: dict[str, Any] = {
            "home": home,
            "install_global": False,
            "sample_resources": False,
            "flush_interval_s": 0.05,
            "metrics_interval_s": 1.0,
            "do_not_track": False,
        }
        options.update(overrides)
        app = create_app(TelemetrySettings(**options))
        server, thread, sock = _serve(app)
        port = sock.getsockname()[1]
        live = LiveServer(url=f"http://127.0.0.1:{port}", token=getattr(app.state, STATE_TOKEN), home=home, app=app)
        running.append((live, server, thread, sock))
        return live

    yield start
    for live, server, thread, sock in reversed(running):
        live.close()
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server()


@pytest.fixture(scope="session")
def demo_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliService]:
    """``peft-telemetry serve`` (the command) over a log ``peft-telemetry demo`` filled, consent off."""
    if not (HOST_DIST / "index.html").exists():
        pytest.fail("the host-app example is not built: run `make ui-test` (it builds ui/host-example)")
    home = tmp_path_factory.mktemp("host-app-home")
    run_cli(home, "enable")
    run_cli(home, "demo", "--events", "400", "--seed", "7", "--no-progress")
    run_cli(home, "disable")  # the host app turns it on again
    with serve(home) as service:
        yield service


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `bash scripts/ensure-chromium.sh` (make test does)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class PageErrors:
    """JavaScript errors seen on a page: any of them fails the test."""

    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_context(browser: Browser, page_errors: PageErrors) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(viewport: ViewportSize | None = None, **options: Any) -> BrowserContext:
        context = browser.new_context(
            viewport=viewport or WIDE, locale="en-US", timezone_id="UTC", accept_downloads=True, **options
        )
        context.set_default_timeout(20_000)
        context.on("page", lambda page: page.on("pageerror", lambda exc: page_errors.errors.append(str(exc))))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert page_errors.errors == [], f"JavaScript errors on the page: {page_errors.errors}"


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    return new_context().new_page()


def open_page(page: Page, server: LiveServer, view: str = "consent", *, login: bool = True) -> None:
    """Open the page the way a user does (the printed URL with the token), on ``view``."""
    page.goto(server.login_url if login else server.url + "/")
    page.wait_for_selector("body[data-ready]")
    if view == "dashboard":
        page.get_by_role("tab", name="Dashboard").click()
        page.wait_for_selector("#view-dashboard[data-renders]")


def refresh_dashboard(page: Page) -> None:
    """Click Refresh and wait until the dashboard has been drawn again."""
    before = page.get_attribute("#view-dashboard", "data-renders") or "0"
    page.get_by_role("button", name="Refresh").click()
    page.wait_for_function(
        "n => Number(document.querySelector('#view-dashboard').dataset.renders || 0) > n", arg=int(before)
    )
