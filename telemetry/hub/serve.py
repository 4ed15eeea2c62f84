"""Running a hub process: the lake, its credential and hub secret, the receiver, the printed endpoint.

The credential (installs' token) and the hub's anonymizer secret live in ``<lake>/_hub.json`` (mode 0600),
so every hub writing one lake accepts the same endpoint and hashes identifiers the same way. The dashboard
(the page and read API, :mod:`telemetry.hub.read_routes`) has a token of its own, ``<lake>/server_token``:
the installs' credential is on every install, the dashboard's stays with whoever runs the hub.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HUB_FILE = "_hub.json"


@dataclass(frozen=True)
class HubIdentity:
    token: str
    secret: bytes


def load_or_create_identity(lake: Path, token: str | None = None) -> HubIdentity:
    """The lake's hub credential and secret, created on first use. ``token`` overrides the stored one."""
    path = Path(lake) / HUB_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        stored = json.loads(path.read_text())
        identity = HubIdentity(stored["token"], bytes.fromhex(stored["secret"]))
    except FileNotFoundError:
        identity = HubIdentity(secrets.token_urlsafe(24), secrets.token_bytes(32))
        temp = path.with_name(f".{HUB_FILE}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"token": identity.token, "secret": identity.secret.hex()}, handle)
        try:
            os.link(temp, path)  # first hub wins; a concurrent one reads the winner's file
        except FileExistsError:
            temp.unlink()
            return load_or_create_identity(lake, token)
        temp.unlink()
    return HubIdentity(token, identity.secret) if token else identity


def endpoint_url(host: str, port: int, token: str) -> str:
    """The one URL installs share to (``share enable --endpoint URL``); a hub listening on every address
    names itself by this machine's host name (what other machines can reach)."""
    import socket

    shown = socket.getfqdn() if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}/fleet/{token}"


def run_hub(
    lake: Path,
    host: str,
    port: int,
    token: str | None = None,
    *,
    min_installs: int = 5,
    allowed_hosts: Sequence[str] = (),
) -> None:
    """Serve until interrupted. Binds first (a taken port raises ``OSError`` before anything is printed;
    port 0 picks a free one), then prints the endpoint line (flushed, so scripts can read it) and the
    dashboard URL carrying the dashboard token (``<lake>/server_token``, not the installs' credential).

    ``min_installs`` is the k of every report the hub serves (groups of fewer installs are left out).
    ``allowed_hosts``: more Host names (or IP addresses) the page may be opened by.
    """
    import socket

    import uvicorn

    from exporters.lake import LakeWriter, deleted_installs
    from processors.anonymizer import Anonymizer, PrivacyPolicy
    from telemetry.hub.app import build_hub_app
    from telemetry.hub.ingest import HubIngest
    from telemetry.hub.read_routes import HubReads, add_read_routes
    from telemetry.server.security import load_or_create_token
    from telemetry.server.serve import bind, dashboard_url

    if min_installs < 1:
        raise ValueError("--min-installs must be >= 1")
    identity = load_or_create_identity(lake, token)
    writer = LakeWriter(lake)
    anonymizer = Anonymizer(PrivacyPolicy(), secret=lambda: identity.secret)
    ingest = HubIngest(writer, anonymizer, deleted_installs(lake))
    app = build_hub_app(ingest, identity.token)
    # The names a browser may use for the page: the address it listens on, or this machine's names.
    names = (socket.gethostname(), socket.getfqdn()) if host in ("0.0.0.0", "::", "") else (host,)
    hosts = (*names, *allowed_hosts)
    reads = HubReads(writer.lake, writer.hub_id, load_or_create_token(writer.lake), min_installs, hosts)
    add_read_routes(app, reads)
    sock = bind(host, port)
    try:
        port = sock.getsockname()[1]
        print(f"hub {writer.hub_id} writing {writer.lake}", flush=True)
        print(f"endpoint: {endpoint_url(host, port, identity.token)}", flush=True)
        print(f"dashboard: {dashboard_url(host, port, reads.token)}", flush=True)
        config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
