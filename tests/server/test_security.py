"""Host and Origin checks, the token, and the token-for-cookie exchange, against the live server."""

from __future__ import annotations

import socket
import stat
import threading
from pathlib import Path

import httpx
import pytest

from telemetry.server.security import COOKIE_NAME, TOKEN_FILE, host_name, load_or_create_token
from tests.server.conftest import LiveServer

pytestmark = pytest.mark.usefixtures("consent_on")

API = "/api/telemetry"
EVENT = {"event_type": "security_probe"}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io", "192.168.1.10", ""])
@pytest.mark.parametrize("path", ["/", f"{API}/consent", "/openapi.json"])
def test_foreign_host_is_refused(server: LiveServer, host: str, path: str) -> None:
    # DNS rebinding: the browser connects to 127.0.0.1 but names the attacker's host.
    with server.client() as http:
        response = http.get(path, headers={"Host": host})
    assert response.status_code == 403
    assert response.json()["problem"] == "forbidden_host"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST", "[0:0::1]"])
def test_local_host_names_are_accepted(server: LiveServer, host: str) -> None:
    with server.client() as http:
        response = http.get(f"{API}/consent", headers={"Host": f"{host}:{server.port}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://localhost:1",
        "https://127.0.0.1:{port}",
        "http://127.0.0.1:{port}.evil",
    ],
)
def test_foreign_origin_is_refused_even_with_the_token(server: LiveServer, origin: str) -> None:
    stored = server.stored_state()
    with server.client(headers=server.auth) as http:
        response = http.post(f"{API}/events", json=EVENT, headers={"Origin": origin.format(port=server.port)})
    assert response.status_code == 403
    assert response.json()["problem"] == "forbidden_origin"
    assert "access-control-allow-origin" not in response.headers
    assert server.stored_state() == stored


def test_same_origin_is_accepted(server: LiveServer, client: httpx.Client) -> None:
    response = client.post(f"{API}/events", json=EVENT, headers={"Origin": server.base_url})
    assert response.status_code == 200


def test_cross_site_request_without_origin_is_refused(server: LiveServer) -> None:
    # A <script src> on a foreign page sends no Origin, but the browser says it is cross-site.
    with server.client() as http:
        response = http.get(f"{API}/export", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"})
    assert response.status_code == 403


def test_cors_preflight_gets_no_cors_headers(server: LiveServer) -> None:
    with server.client() as http:
        response = http.options(
            f"{API}/events",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert response.status_code == 403
    assert not any(name.startswith("access-control-") for name in response.headers)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{API}/consent", {"enabled": False}),
        ("POST", f"{API}/events", EVENT),
        ("POST", f"{API}/performance", {"metric_name": "m", "value": 1.0}),
        ("POST", f"{API}/errors", {"type": "E", "message": "m"}),
        ("DELETE", f"{API}/data", None),
        ("POST", "/v1/traces", {}),
        ("POST", "/v1/metrics", {}),
    ],
)
def test_state_changing_endpoints_need_the_token(server: LiveServer, method: str, path: str, body: object) -> None:
    stored = server.stored_state()
    with server.client() as http:
        missing = http.request(method, path, json=body)
        wrong = http.request(method, path, json=body, headers={"Authorization": "Bearer " + "x" * 43})
        wrong_header = http.request(method, path, json=body, headers={"X-PEFT-Token": "nope"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 403 and wrong_header.status_code == 403
    # Each refusal says where the token is, without a path of this machine (it may reach another one).
    for refused in (missing, wrong):
        detail = refused.json()["detail"]
        assert "?token=" in detail and "config/server_token" in detail, detail
        assert str(server.service.settings.home) not in detail
    assert server.service.is_enabled()
    assert server.stored_state() == stored


def test_token_header_variants_are_accepted(server: LiveServer) -> None:
    with server.client() as http:
        assert http.post(f"{API}/events", json=EVENT, headers={"X-PEFT-Token": server.token}).status_code == 200
        assert http.post(f"{API}/events", json=EVENT, headers=server.auth).status_code == 200


# Every endpoint that answers with recorded data (or with the keyed anonymizer's output).
DATA_ENDPOINTS = [
    ("GET", f"{API}/status", None),
    ("POST", f"{API}/analytics", {}),
    ("GET", f"{API}/export", None),
    ("POST", f"{API}/preview", {"event_type": "x"}),
]


def test_public_endpoints_need_no_token(server: LiveServer) -> None:
    with server.client() as http:
        assert http.get(f"{API}/consent").status_code == 200
        assert http.get(f"{API}/rules").status_code == 200
        assert http.get("/").status_code in (200, 404)


@pytest.mark.parametrize(("method", "path", "body"), DATA_ENDPOINTS)
def test_every_data_endpoint_needs_the_token(server: LiveServer, method: str, path: str, body: object) -> None:
    with server.client() as http:
        bare = http.request(method, path, json=body)
        wrong = http.request(method, path, json=body, headers={"x-peft-token": "w" * 43})
        navigated = http.request(  # a cross-site navigation (a link on a foreign page) carries no token
            method, path, json=body, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
        )
        with_header = http.request(method, path, json=body, headers={"x-peft-token": server.token})
        with_cookie = http.request(method, path, json=body, cookies={COOKIE_NAME: server.token})
    assert bare.status_code == 401 and navigated.status_code == 401
    assert wrong.status_code == 403
    assert with_header.status_code == 200 and with_cookie.status_code == 200


def test_url_token_is_swapped_for_an_httponly_strict_cookie(server: LiveServer) -> None:
    with server.client() as http:
        response = http.get(f"/?token={server.token}")
        assert response.status_code == 303
        assert response.headers["location"] == "/"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE_NAME}=")
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered and "path=/" in lowered
        # The cookie alone now authorizes state changes (what the dashboard does).
        assert http.post(f"{API}/events", json=EVENT).status_code == 200
        page = http.get("/")
        assert page.status_code in (200, 404)  # 404 only if the web pages are not installed


def test_url_token_exchange_keeps_other_parameters_and_never_redirects_off_site(server: LiveServer) -> None:
    with server.client() as http:
        kept = http.get(f"/dashboard?tab=errors&token={server.token}")
        assert kept.headers["location"] == "/dashboard?tab=errors"
        sneaky = http.get(f"//evil.example/?token={server.token}")
        assert sneaky.status_code == 303
        assert sneaky.headers["location"].startswith("/") and not sneaky.headers["location"].startswith("//")


def test_wrong_url_token_is_refused_and_sets_no_cookie(server: LiveServer) -> None:
    with server.client() as http:
        response = http.get("/?token=wrong")
        assert response.status_code == 403
        assert "set-cookie" not in response.headers
        assert http.post(f"{API}/events", json=EVENT).status_code == 401


def test_token_file_is_private_and_long(server: LiveServer) -> None:
    path = server.service.settings.config_dir / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == server.token
    assert len(server.token) >= 43  # token_urlsafe(32): 256 bits


def test_token_file_that_others_can_read_is_replaced(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    first = load_or_create_token(folder)
    assert load_or_create_token(folder) == first
    (folder / TOKEN_FILE).chmod(0o644)
    second = load_or_create_token(folder)
    assert second != first
    assert stat.S_IMODE((folder / TOKEN_FILE).stat().st_mode) == 0o600
    (folder / TOKEN_FILE).write_text("short")
    (folder / TOKEN_FILE).chmod(0o600)
    assert load_or_create_token(folder) not in ("short", second)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8000", "localhost"),
        ("[::1]:8000", "::1"),
        ("LocalHost", "localhost"),
        ("[::1", ""),
        ("LocalHost.", ""),
        ("127.0.0.1:8000@evil.com", ""),
        ("[::1]evil.com", ""),
        ("localhost:80:80", ""),
        ("local host", ""),
    ],
)
def test_host_name_parsing(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize("host", ["127.0.0.1:{port}@evil.com", "[::1]evil.com", "LOCALHOST.", "localhost.:{port}"])
def test_hosts_outside_the_authority_grammar_are_refused(server: LiveServer, host: str) -> None:
    with server.client() as http:
        response = http.get(f"{API}/consent", headers={"Host": host.format(port=server.port)})
    assert response.status_code == 403 and response.json()["problem"] == "forbidden_host"


def _raw_request(port: int, head: str) -> bytes:
    """One HTTP/1.1 request written by hand: httpx cannot send a header twice in a chosen order."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize(
    "origins",
    [("http://evil.example", "{base}"), ("{base}", "http://evil.example"), ("{base}", "{base}")],
)
def test_a_repeated_origin_is_refused(server: LiveServer, origins: tuple[str, str]) -> None:
    stored = server.stored_state()
    body = '{"event_type": "dup_origin"}'
    lines = [
        f"POST {API}/events HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        f"Authorization: Bearer {server.token}",
        "Content-Type: application/json",
        *(f"Origin: {o.format(base=server.base_url)}" for o in origins),
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    answer = _raw_request(server.port, "\r\n".join(lines) + "\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
    assert b"forbidden_origin" in answer
    assert server.stored_state() == stored


def test_a_repeated_host_is_refused(server: LiveServer) -> None:
    hosts = f"Host: evil.example\r\nHost: 127.0.0.1:{server.port}"
    head = f"GET {API}/consent HTTP/1.1\r\n{hosts}\r\nConnection: close\r\n\r\n"
    answer = _raw_request(server.port, head)
    # h11 itself already refuses a second Host (400); our guard would answer 403 behind another server.
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 403")), answer[:200]
    single = f"GET {API}/consent HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n"
    assert _raw_request(server.port, single).startswith(b"HTTP/1.1 200")  # positive control


def test_processes_starting_together_agree_on_one_token(tmp_path: Path) -> None:
    # Two services (or two hubs on one lake) started at the same moment: the first token written wins and
    # every one of them serves it, so the dashboard URL any of them printed opens on all of them.
    for trial in range(20):
        folder = tmp_path / str(trial)
        start = threading.Barrier(4)
        tokens: list[str] = []

        def take(folder: Path = folder, start: threading.Barrier = start, tokens: list[str] = tokens) -> None:
            start.wait()
            tokens.append(load_or_create_token(folder))

        threads = [threading.Thread(target=take) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(tokens)) == 1, trial
        assert (folder / TOKEN_FILE).read_text().strip() == tokens[0]
        assert [p.name for p in folder.iterdir()] == [TOKEN_FILE]  # no temporary file left behind
