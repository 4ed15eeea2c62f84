"""What each detector match becomes: the handlers the scanner dispatches to.

Each handler gets one candidate (a match of the combined regex, a number, or a ``key=value`` head) and
returns its replacement, a replacement plus where scanning resumes, or None to decline (the scanner then
looks again one character further, so a declined candidate hides nothing). Rule counts go into the
caller's ``dict[str, int]``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast
from urllib.parse import unquote

from processors._bounded_cache import BoundedCache

from . import patterns, rules
from .hosts import is_public_host
from .keys import HASH, KeyClassifier
from .paths import reduce_path
from .urls import scrub_url
from .validators import is_basic_credential, is_bearer_credential, is_card, is_ipv6, phone_digits_ok

if TYPE_CHECKING:
    from .detectors import Scanner

Counts = dict[str, int]
Hasher = Callable[[str], str]
#: What a handler returns: the replacement, a replacement plus where scanning resumes, or None to decline.
Result = str | tuple[str, int] | None

_PATH_ORIGINS: Final = frozenset({"win", "unc", "tilde", "rel", "posix"})
_KV_BARE: Final = re.compile(patterns.KV_BARE)
_MIN_KEY_TOKEN: Final = 15  # shortest provider token; shorter kv keys cannot hide one
_VALUE_END: Final = re.compile(r"[\r\n,;&)\]}\"'<>|]")
_LINE_END: Final = re.compile(r"[\r\n]")
_LEAF_CACHE_LIMIT: Final = 4096
_PORT_SUFFIX: Final = re.compile(r":\d{1,5}$")


_VERSION_CONTEXT: Final = re.compile(
    r"(?i)(?:cudnn|cuda|tensorrt|trt|nccl|driver|version|ver|release|build|v)[\s:=_-]*$"
)


def _version_like(octets: list[int], before: str) -> bool:
    """Four dotted numbers that are a version: after a product or version word (``TensorRT 10.0.1.6``), or
    small first three parts outside every private range (``8.9.2.26``: cuDNN, TensorRT and driver builds).

    A word in front does not make a version of what no version looks like: a major part of 100 or more
    (``build 192.168.1.23``, ``release 203.0.113.77``) is an address whatever precedes it."""
    if octets[0] >= 100:
        return False
    if _VERSION_CONTEXT.search(before):
        return True
    return octets[0] <= 9 and octets[1] <= 20 and octets[2] <= 20


class KvHead:
    """Where a ``key=value`` pair's key starts and ends and its value starts (quacks like a match)."""

    __slots__ = ("key_end", "key_start", "lastgroup", "string", "value_start")

    def __init__(self, string: str, key_start: int, key_end: int, value_start: int) -> None:
        self.string = string
        self.key_start = key_start
        self.key_end = key_end
        self.value_start = value_start
        self.lastgroup = "kv"

    def start(self) -> int:
        return self.key_start

    def end(self) -> int:
        return self.value_start


def count(counts: Counts, rule: str, n: int = 1) -> None:
    counts[rule] = counts.get(rule, 0) + n


class MatchHandlers:
    """The handlers, as a base of :class:`.detectors.Scanner` (which sets these attributes)."""

    keys: KeyClassifier
    hash: Hasher
    _home_user: str | None
    _leaf_cache: BoundedCache[str, tuple[str, tuple[tuple[str, int], ...]]]

    def scan(self, text: str, counts: Counts, level: int, version_key: bool = False, only: int = patterns.ALL_F) -> str:
        raise NotImplementedError  # the scanner's own pass, used for fragments

    # --- handlers ----------------------------------------------------------------------------------------
    def _dispatch(self, m: re.Match[str], group: str | None, counts: Counts, level: int, vk: bool) -> Result:
        text = m.group()
        if group in _PATH_ORIGINS:
            return self._path(text, group, counts)
        if group is not None and group.startswith("home"):
            return self._home(m.group(f"home_tail{group[4:]}"), counts)
        if group == "url":
            return scrub_url(cast("Scanner", self), text, counts)  # every MatchHandlers is a Scanner
        if group == "ipv4":
            octets = [int(o) for o in text.split(".")]
            if vk or text.startswith("127.") or text == "0.0.0.0" or any(o > 255 for o in octets):
                return None  # versions; loopback and "any" addresses say nothing about anyone
            if _version_like(octets, m.string[max(0, m.start() - 24) : m.start()]):
                return None
            count(counts, rules.VALUE_IPV4)
            return rules.MARKERS[rules.VALUE_IPV4]
        if group == "ipv6":
            address = text
            suffixes = 0
            while not is_ipv6(address):
                if address.endswith(":"):
                    address = address[:-1]  # "fe80::1: connection refused" -> the address ends before ": "
                    continue
                # A port, or a line and column (a JavaScript frame "at (2001:db8::7:10:5)"), glued on.
                port = _PORT_SUFFIX.search(address)
                if port is None or suffixes == 2:
                    return None
                address, suffixes = address[: port.start()], suffixes + 1
            if address in ("::1", "::"):
                return None
            count(counts, rules.VALUE_IPV6)
            return rules.MARKERS[rules.VALUE_IPV6], m.start() + len(address)
        if group == "card":
            if not is_card(text):
                return None
            count(counts, rules.VALUE_CARD)
            return rules.MARKERS[rules.VALUE_CARD]
        if group == "phone_intl":
            if not phone_digits_ok(text):
                return None
            count(counts, rules.VALUE_PHONE)
            return rules.MARKERS[rules.VALUE_PHONE]
        if group == "bearer":
            token = m.group("auth_token")
            scheme = text[:6] if text[:6].lower() == "bearer" else text[:5]
            if scheme.lower() == "basic":
                if not is_basic_credential(token):
                    return None
                count(counts, rules.SECRET_BASIC)
                return f"{scheme} {rules.MARKERS[rules.SECRET_BASIC]}"
            if not is_bearer_credential(token):
                return None
            count(counts, rules.SECRET_BEARER)
            return f"{scheme} {rules.MARKERS[rules.SECRET_BEARER]}"
        raise AssertionError(f"unhandled detector group {group}")  # a bug: fail closed upstream

    def _kv(self, m: KvHead, counts: Counts, repair: bool = False) -> Result:
        text = m.string
        key, sep = text[m.key_start : m.key_end], text[m.key_end : m.value_start]
        start = m.value_start
        quote = text[start] if text[start] in "\"'" else ""
        decision = self.keys.classify(key)
        if repair and decision == HASH:
            decision = None  # the repair pass reads output: a hashed value there must not be hashed again
        # Only keys that matter get here (_kv_heads): denied, hashed, or naming a version.
        shown_key = self.scan(key, counts, patterns.LEAF) if len(key) >= _MIN_KEY_TOKEN else key
        close = text.find(quote, start + 1) if quote else -1
        if close != -1 and close - start <= 4097 and "\n" not in text[start:close]:
            value, end = text[start + 1 : close], close + 1
        elif quote:
            quote, value, end = "", "", -1  # an unterminated quote: treated as unquoted, to its end below
        else:
            bare = _KV_BARE.match(text, start)
            value, end = (bare.group(), bare.end()) if bare is not None else ("", start)
        if decision == rules.KEY_HOST and is_public_host(value):
            return f"{shown_key}{sep}{quote}{value}{quote}", end  # host='huggingface.co' names no one
        if decision is None:  # a version key: dotted quads there are versions, not addresses
            return f"{shown_key}{sep}{quote}{self.scan(value, counts, patterns.NO_KV, True)}{quote}", max(end, start)
        if decision == HASH and end != -1:
            count(counts, rules.ID_HASHED)
            return f"{shown_key}{sep}{quote}{self.hash(value)}{quote}", end
        count(counts, decision if decision != HASH else rules.ID_HASHED)
        if quote:
            return f"{shown_key}{sep}{quote}{rules.KEY_MARKER}{quote}", end
        # An unquoted secret may run on past a space ("password: correct horse battery"): everything up to
        # the end of the line or the next delimiter goes; a cookie header's value is every cookie to the end
        # of the line.
        stop = (_LINE_END if decision == rules.KEY_COOKIE else _VALUE_END).search(text, start + 1)
        return f"{shown_key}{sep}{rules.KEY_MARKER}", (stop.start() if stop is not None else len(text))

    def leaf_name(self, name: str, counts: Counts) -> str:
        """A file name or other fragment that is no longer a path: hide the user's name, run the detectors.

        File names recur (train.py, adapter_model.safetensors), so results are cached.
        """
        hit = self._leaf_cache.get(name)
        if hit is None:
            local: Counts = {}
            if self._home_user is not None and name.lower() == self._home_user:
                out = rules.MARKERS[rules.PATH_HOME]
            else:
                out = self.scan(name, local, patterns.LEAF)
            hit = self._leaf_cache.put(name, (out, tuple(local.items())))
        for rule, n in hit[1]:
            counts[rule] = counts.get(rule, 0) + n
        return hit[0]

    def _path(self, text: str, origin: str, counts: Counts) -> str:
        reduced = reduce_path(text, origin)
        if reduced is None:
            return self.scan(text, counts, patterns.LEAF)  # a URL route, not a file: keep, but still scan it
        name, rule = reduced
        count(counts, rule)
        if rule == rules.PATH_USER_HOME and name == rules.MARKERS[rules.PATH_USER_HOME]:
            return name
        return self.leaf_name(name, counts)

    def _home(self, tail: str | None, counts: Counts) -> str:
        if tail and "%" in tail:
            tail = unquote(tail)
        reduced = reduce_path(tail, "home_tail") if tail else None
        if reduced is None:
            count(counts, rules.PATH_HOME)
            return rules.MARKERS[rules.PATH_HOME]
        name, rule = reduced
        count(counts, rule)
        return self.leaf_name(name, counts)
