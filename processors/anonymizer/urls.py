"""URLs: the parts that carry secrets are the userinfo, the query and the fragment.

``https://user:pw@host/path?token=abc&q=alice%40example.com#access_token=xyz`` becomes
``https://<credentials>@host/path?token=<redacted>&q=<email>#access_token=<redacted>``. Query and fragment
parameters go through the key rules (by parameter name) and every detector, key=value included (after
percent-decoding, so an encoded e-mail is found too; a value is shorter than its URL, so this recursion
ends). Hosts are scanned (an IP host becomes ``<ip>``); names of public hosts
are kept. ``file://`` URLs are paths and are reduced like any other path. Webhook URLs whose path is the
secret (Slack, Discord) lose their path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, unquote_plus

from . import patterns, rules
from .keys import HASH, is_version_key
from .paths import reduce_path

if TYPE_CHECKING:
    from .detectors import Counts, Scanner

_WEBHOOK_HOSTS: Final = ("hooks.slack.com", "discord.com", "discordapp.com", "webhook.office.com")


def _params(scanner: Scanner, text: str, counts: Counts) -> str:
    out = []
    for param in text.split("&"):
        name, eq, value = param.partition("=")
        if not eq:
            decoded = unquote_plus(param)
            scanned = scanner.scan(decoded, counts, patterns.FULL)
            out.append(param if scanned == decoded else scanned)
            continue
        plain_name = unquote_plus(name)
        decision = scanner.keys.classify(plain_name)
        shown_name = name if len(name) < 15 else scanner.scan(name, counts, patterns.LEAF)
        if decision == HASH:
            counts[rules.ID_HASHED] = counts.get(rules.ID_HASHED, 0) + 1
            out.append(f"{shown_name}={scanner.hash(unquote_plus(value))}")
        elif decision is not None:
            counts[decision] = counts.get(decision, 0) + 1
            out.append(f"{shown_name}={rules.KEY_MARKER}")
        else:
            decoded = unquote_plus(value)
            scanned = scanner.scan(decoded, counts, patterns.FULL, is_version_key(plain_name))
            out.append(f"{shown_name}={value if scanned == decoded else scanned}")
    return "&".join(out)


def _file_url(scanner: Scanner, rest: str, counts: Counts) -> str:
    text = unquote(rest)
    if len(text) > 2 and text[0] == "/" and text[2] == ":" and text[1].isalpha():
        text = text[1:]  # file:///C:/Users/...
    elif not text.startswith("/"):
        text = "/" + text.partition("/")[2]  # file://host/share/...: the host may be a person's machine
    origin = "win" if len(text) > 1 and text[1] == ":" else "posix"
    reduced = reduce_path(text, origin)
    if reduced is None:
        # Not a file-system root we know, but a file URL names a file: keep its name only.
        name = text.rstrip("/").rsplit("/", 1)[-1]
        rule = rules.PATH_ABSOLUTE
    else:
        name, rule = reduced
    counts[rule] = counts.get(rule, 0) + 1
    if name == rules.MARKERS[rules.PATH_USER_HOME]:
        return name
    return scanner.leaf_name(name, counts)


def scrub_url(scanner: Scanner, url: str, counts: Counts) -> str:
    scheme, _, rest = url.partition("://")
    if scheme.lower() == "file":
        return _file_url(scanner, rest, counts)
    rest, hash_mark, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    # A password may hold "/": userinfo ends at the last "@" before the query when a ":" precedes it.
    at, colon = rest.rfind("@"), rest.find(":")
    if 0 <= colon < at:
        netloc, slash, path = rest[: at + 1] + rest[at + 1 :].partition("/")[0], *rest[at + 1 :].partition("/")[1:]
    else:
        netloc, slash, path = rest.partition("/")
    if "@" in netloc:
        netloc = f"{rules.MARKERS[rules.SECRET_URL_USERINFO]}@{netloc.rpartition('@')[2]}"
        counts[rules.SECRET_URL_USERINFO] = counts.get(rules.SECRET_URL_USERINFO, 0) + 1
    netloc = scanner.scan(netloc, counts, patterns.LEAF)
    host = netloc.rpartition("@")[2].split(":", 1)[0].lower()
    if path and host.endswith(_WEBHOOK_HOSTS) and (host != "discord.com" or path.startswith("api/webhooks")):
        counts[rules.SECRET_SLACK] = counts.get(rules.SECRET_SLACK, 0) + 1
        path = rules.MARKERS[rules.SECRET_SLACK]
    elif path:
        path = scanner.scan(path, counts, patterns.LEAF)
    out = f"{scheme}://{netloc}{slash}{path}"
    if question:
        out += "?" + _params(scanner, query, counts)
    if hash_mark:
        out += "#" + (
            _params(scanner, fragment, counts) if "=" in fragment else scanner.scan(fragment, counts, patterns.LEAF)
        )
    return out
