"""``peft-telemetry serve``: run the service under uvicorn on this machine only, unless told otherwise.

Prints the dashboard URL carrying the token (the Jupyter way): opening it swaps the token for an
HttpOnly cookie. Access logs stay off: they would print that URL, and every path, to the terminal.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import threading
import webbrowser
from collections.abc import Iterable

import uvicorn

from telemetry.server.app import create_app
from telemetry.server.deps import STATE_TOKEN
from telemetry.server.security import TOKEN_FILE
from telemetry.settings import TelemetrySettings

_logger = logging.getLogger(__name__)

_WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; binding before the app starts lets port 0 pick a free port we can print."""
    address = host.strip("[]")
    infos = socket.getaddrinfo(address or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, sockaddr = infos[0]
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only when sock.proto is
    # IPPROTO_TCP. With proto 0, Nagle's algorithm holds every small JSON response back until the client's
    # delayed ACK fires.
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def dashboard_url(host: str, port: int, token: str) -> str:
    shown = "127.0.0.1" if host in _WILDCARDS else host.strip("[]")
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def serve(
    settings: TelemetrySettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    open_browser: bool = False,
    *,
    allowed_hosts: Iterable[str] = (),
) -> None:
    """Run the service until interrupted. Warns when ``host`` is reachable from other machines."""
    extra_hosts = list(allowed_hosts)
    if not is_loopback(host):
        print(
            f"peft-telemetry: warning: listening on {host or 'all addresses'}, reachable from other "
            "machines. Requests still need a local Host name (or one from allowed_hosts) and the token.",
            file=sys.stderr,
        )
        _logger.warning("telemetry server: bound to a non-loopback address")
        if host not in _WILDCARDS:
            extra_hosts.append(host)
    sock = bind(host, port)
    try:
        app = create_app(settings, allowed_hosts=extra_hosts)
        url = dashboard_url(host, sock.getsockname()[1], getattr(app.state, STATE_TOKEN))
        token_file = app.state.telemetry_service.settings.config_dir / TOKEN_FILE
        print(f"PEFT Studio telemetry is running. Open the dashboard at:\n    {url}", flush=True)
        print(f"(the token is kept in {token_file}; press Ctrl+C to stop)", flush=True)
        if open_browser:
            timer = threading.Timer(0.5, webbrowser.open, args=(url,))
            timer.daemon = True
            timer.start()
        config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="on")
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:
            # uvicorn re-raises Ctrl+C after its graceful shutdown (the app and service are closed by
            # then); for `serve` it is the normal way to stop, not an error.
            print("peft-telemetry: stopped", flush=True)
    finally:
        sock.close()
