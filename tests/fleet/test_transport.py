"""The sender's HTTP transport against a real local HTTP server: retries are bounded, back off, stop on
revocation, and tell apart what to retry from what the hub will never take."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exporters.sharing import post_with_retry


class _Scripted(BaseHTTPRequestHandler):
    answers: list[int] = []
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).bodies.append(gzip.decompress(body) if self.headers.get("content-encoding") == "gzip" else body)
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"answers": [], "bodies": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/traces", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_retries_transient_failures_then_delivers(server: tuple[str, type[_Scripted]]) -> None:
    url, handler = server
    handler.answers = [503, 429, 500]
    delivery = post_with_retry(url, gzip.compress(b"batch"), base_delay_s=0.001)
    assert (delivery.outcome, delivery.attempts) == ("delivered", 4)
    assert handler.bodies == [b"batch"] * 4


def test_retries_are_bounded(server: tuple[str, type[_Scripted]]) -> None:
    url, handler = server
    handler.answers = [503] * 10
    delivery = post_with_retry(url, gzip.compress(b"x"), attempts=3, base_delay_s=0.001)
    assert (delivery.outcome, delivery.status, delivery.attempts) == ("failed", 503, 3)
    assert len(handler.bodies) == 3


def test_refused_and_unauthorized_are_not_retried(server: tuple[str, type[_Scripted]]) -> None:
    url, handler = server
    handler.answers = [400, 401]
    assert post_with_retry(url, gzip.compress(b"x"), base_delay_s=0.001).outcome == "refused"
    assert post_with_retry(url, gzip.compress(b"x"), base_delay_s=0.001).outcome == "unauthorized"
    assert len(handler.bodies) == 2


def test_revocation_stops_between_retries(server: tuple[str, type[_Scripted]]) -> None:
    url, handler = server
    handler.answers = [503] * 10
    allowed = iter([True, True, False])
    delivery = post_with_retry(url, gzip.compress(b"x"), base_delay_s=0.001, should_continue=lambda: next(allowed))
    assert delivery.outcome == "stopped" and len(handler.bodies) == 2


def test_an_offline_hub_is_a_failure_not_an_exception() -> None:
    from _fleet_helpers import free_port

    delivery = post_with_retry(f"http://127.0.0.1:{free_port()}/v1/traces", b"x", attempts=2, base_delay_s=0.001)
    assert delivery.outcome == "failed" and delivery.status is None
