"""Safe on localhost: Host and Origin checks, the per-install token, and Jupyter's token-for-cookie swap.

A service on 127.0.0.1 is reachable from every web page the user opens: through DNS rebinding (a foreign
name that resolves to 127.0.0.1, so the browser sends a foreign ``Host``) and through cross-site requests
(a foreign ``Origin``). Jupyter, Ollama (after CVE-2024-28224) and the MCP spec answer both the same way:
only local Host names, only same-origin requests. State-changing endpoints also need a per-install secret
token that the browser cannot learn from another site: ``serve`` prints ``http://127.0.0.1:8000/?token=…``,
and that first request swaps the token for an HttpOnly SameSite=Strict cookie and redirects to the clean
URL, so the token leaves the address bar and page scripts never see it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import HTTPException, Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry._files import atomic_write, fsync_dir

_logger = logging.getLogger(__name__)

TOKEN_FILE: Final = "server_token"
COOKIE_NAME: Final = "peft_telemetry_token"
TOKEN_HEADER: Final = "x-peft-token"
#: Names that always mean this machine. A configured name (``serve --host``) is added to these.
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_TOKEN_SHAPE: Final = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
_COOKIE_MAX_AGE_S: Final = 30 * 86_400
#: Paths where ``?token=`` is never swapped for a cookie (APIs answer JSON, not redirects).
_API_PREFIXES: Final = ("/api/", "/v1/")


def load_or_create_token(config_dir: Path) -> str:
    """The per-install token from ``<config_dir>/server_token`` (mode 0600), created on first use.

    A token file that is damaged, or readable by other users, is replaced: a token others may have read
    protects nothing.
    """
    path = config_dir / TOKEN_FILE
    try:
        info = path.stat()
        token = path.read_text().strip()
        if _TOKEN_SHAPE.match(token) and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            return token
        _logger.warning("telemetry server: the token file was damaged or too open; a new token was made")
    except FileNotFoundError:
        return _first_token(path)
    except OSError as exc:
        _logger.warning("telemetry server: cannot read the token file (%s); a new token was made", type(exc).__name__)
    token = secrets.token_urlsafe(32)  # 256 bits
    atomic_write(path, token.encode(), mode=0o600)
    return token


def _first_token(path: Path) -> str:
    """A new token for a folder that has none, unless another process wrote one meanwhile: the first written
    wins (a hard link fails on an existing name), so processes starting together serve the same token."""
    token = secrets.token_urlsafe(32)  # 256 bits
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.new")
    atomic_write(temp, token.encode(), mode=0o600)  # complete and on disk before it gets the name
    try:
        os.link(temp, path)
    except FileExistsError:
        winner = path.read_text().strip()
        if not _TOKEN_SHAPE.match(winner):  # the other process's file is damaged: replace it, as above
            atomic_write(path, token.encode(), mode=0o600)
            return token
        return winner
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    return token


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def presented_token(request: Request) -> str | None:
    """The token a request carries: ``Authorization: Bearer``, ``X-PEFT-Token`` or the cookie."""
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get(TOKEN_HEADER) or request.cookies.get(COOKIE_NAME)


#: Where a client finds the token. No absolute path: the answer may reach another machine, unauthenticated.
_WHERE: Final = (
    f"it is in the link the server printed (?token=...) and in the data home's config/{TOKEN_FILE} "
    f"(a hub's: <lake>/{TOKEN_FILE})"
)


def check_token(expected: str, request: Request) -> None:
    """Raise 401 when no token was presented and 403 when a wrong one was."""
    given = presented_token(request)
    if given is None:
        raise HTTPException(
            401,
            f"this endpoint needs the server token (Authorization: Bearer, X-PEFT-Token, or the cookie); {_WHERE}",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not token_matches(expected, given):
        raise HTTPException(403, f"the server token is wrong; {_WHERE}")


# RFC 3986 authority without userinfo: host [":" port]. host is an IP literal in brackets or a reg-name /
# IPv4 address made of labels (no trailing dot, no "@", nothing after the port).
_AUTHORITY: Final = re.compile(
    r"^(?:\[(?P<literal>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*))(?::(?P<port>[0-9]{1,5}))?$"
)
#: Headers a request may carry at most once: a second copy could hide a foreign value behind a local one.
_SINGLE_HEADERS: Final = ("host", "origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest")


def host_name(host_header: str) -> str:
    """The host of a ``Host`` header by the authority grammar, lower-cased; ``""`` when it is malformed.

    ``"[::1]:8000"`` -> ``"::1"``, ``"LocalHost:80"`` -> ``"localhost"``; ``"127.0.0.1:80@evil.example"``,
    ``"[::1]evil.example"`` and ``"localhost."`` -> ``""``.
    """
    match = _AUTHORITY.match(host_header)
    if match is None:
        return ""
    literal = match.group("literal")
    if literal is not None:
        try:
            return str(ipaddress.IPv6Address(literal))
        except ValueError:
            return ""
    return match.group("name").lower()


def configured_host(host: str) -> str:
    """A name given to ``serve --host``/``allowed_hosts`` (``--allow-host``), as a Host header would carry it;
    a bare IPv6 address is fine there. Empty when it is neither a host name nor an IP address."""
    try:
        return str(ipaddress.ip_address(host.strip().strip("[]")))
    except ValueError:
        return host_name(host.strip())


def _refuse(code: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "problem": code}, status_code=403)


def _refuse_duplicates(headers: list[tuple[str, str]]) -> JSONResponse | None:
    names = [name for name, _ in headers if name in _SINGLE_HEADERS]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if not duplicated:
        return None
    problem = "forbidden_host" if duplicated == ["host"] else "forbidden_origin"
    return _refuse(problem, f"the request repeats the {', '.join(duplicated)} header")


class LocalOnlyMiddleware:
    """Refuses foreign Host and Origin headers (403) and swaps ``?token=`` for the session cookie.

    ``allowed_origins`` lists extra exact origins (e.g. PEFT Studio's own frontend on another port);
    by default only same-origin requests are accepted, and no CORS headers are ever sent for others.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = LOOPBACK_HOSTS | {name for h in allowed_hosts if (name := configured_host(h))}
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", ())]
        headers = dict(raw)
        host = headers.get("host", "")
        refusal: Response | None = _refuse_duplicates(raw) or self._check(host, headers, scope.get("scheme", "http"))
        if refusal is None and scope["type"] == "http" and scope["method"] == "GET":
            refusal = self._exchange(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, host: str, headers: dict[str, str], scheme: str) -> JSONResponse | None:
        if host_name(host) not in self.allowed_hosts:
            return _refuse("forbidden_host", "the Host header does not name this machine")
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, host, scheme):
            return _refuse("forbidden_origin", "cross-origin requests are not accepted")
        # Requests without Origin (a <script> or <img> on a foreign page) still say where they come from.
        site = headers.get("sec-fetch-site")
        if site == "cross-site" and headers.get("sec-fetch-mode") != "navigate":
            return _refuse("forbidden_origin", "cross-site requests are not accepted")
        return None

    def _origin_allowed(self, origin: str, host: str, scheme: str) -> bool:
        value = origin.strip().rstrip("/").lower()
        if value in self.allowed_origins:
            return True
        parts = urlsplit(value)
        # Same origin: the page was served by this very scheme, host and port.
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        return (
            parts.scheme == scheme
            and parts.netloc == host.strip().lower()
            and host_name(parts.netloc) in self.allowed_hosts
        )

    def _exchange(self, scope: Scope, headers: dict[str, str]) -> JSONResponse | RedirectResponse | None:
        query = scope.get("query_string", b"").decode("latin-1")
        if "token=" not in query or scope["path"].startswith(_API_PREFIXES):
            return None
        pairs = parse_qsl(query, keep_blank_values=True)
        given = next((value for key, value in pairs if key == "token"), None)
        if given is None:
            return None
        if not token_matches(self.token, given):
            return _refuse("invalid_token", "the token in the URL is wrong")
        rest = urlencode([(k, v) for k, v in pairs if k != "token"])
        path = scope.get("root_path", "") + scope["path"]
        # "//evil.example" would be a protocol-relative URL: an open redirect.
        target = "/" + path.lstrip("/\\") + (f"?{rest}" if rest else "")
        response = RedirectResponse(target, status_code=303, headers={"Referrer-Policy": "no-referrer"})
        response.set_cookie(
            COOKIE_NAME, self.token, max_age=_COOKIE_MAX_AGE_S, path="/", httponly=True, samesite="strict"
        )
        return response
