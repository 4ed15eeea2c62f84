"""The text scanner: finds what the detectors describe in a string and rewrites it.

``Scanner.scan_text`` is the one entry point for free text:

1. ``features`` tests the string cheaply (substrings, and a few regexes that skip ahead in C) to learn which
   detector families could match at all; most benign values stop here.
2. ``scan`` merges three streams of candidates in text order: the combined alternation of the families
   chosen (:mod:`.patterns`), numbers searched only inside digit runs, and ``key=value`` pairs found from
   their separator. Each candidate goes to a handler that returns its replacement, or None to decline (the
   search then resumes one character later, so a declined candidate hides nothing).
3. ``finish`` runs the passes over finished text: e-mail addresses, random-looking secrets, the policy's
   own patterns (:mod:`.postpass`); then the length limit applies.

Counts go into a plain ``dict[str, int]`` passed by the caller (cheaper than a Counter per call).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final
from urllib.parse import unquote

from . import patterns as X
from . import rules as R
from .hosts import is_public_host
from .keys import HASH, KeyClassifier
from .normalize import base64_tokens, decoded_form, fold_text
from .paths import HomeSpec, home_patterns, reduce_path
from .policy import PrivacyPolicy
from .postpass import replace_emails, replace_random
from .urls import scrub_url
from .validators import is_basic_credential, is_bearer_credential, is_card, is_ipv6, phone_digits_ok

Counts = dict[str, int]
Hasher = Callable[[str], str]

# Alternatives whose every match is a finding: group name -> rule id.
_SIMPLE: Final[dict[str, str]] = {
    "pem": R.SECRET_PRIVATE_KEY,
    "jwt": R.SECRET_JWT,
    "anthropic": R.SECRET_ANTHROPIC,
    "openai": R.SECRET_OPENAI,
    "huggingface": R.SECRET_HUGGINGFACE,
    "github": R.SECRET_GITHUB,
    "gitlab": R.SECRET_GITLAB,
    "slack": R.SECRET_SLACK,
    "google": R.SECRET_GOOGLE,
    "aws": R.SECRET_AWS,
    "stripe": R.SECRET_STRIPE,
    "registry": R.SECRET_PACKAGE_REGISTRY,
    "mac": R.VALUE_MAC,
    "phone_nanp": R.VALUE_PHONE,
}
_PATH_ORIGINS: Final = frozenset({"win", "unc", "tilde", "rel", "posix"})
#: Matches that end at the first blank although what they cut may go on (see Scanner.scan_text).
_STOPS_AT_BLANKS: Final = frozenset({"url", "win", "unc", "tilde", "rel", "posix"})
_MARKER_HEADS: Final = frozenset({"secret", "redacted"})
#: ... and the characters after such a match that let something go on across it (a blank, a separator).
_SPLIT_CHARS: Final = frozenset(" \t:=\"'")
# A string cut before scanning must not end inside a token, or half a secret could slip past a detector.
_TOKEN_TAIL: Final = re.compile(r"[^\s\"'<>,;()\[\]{}|]*")
_CACHE_LIMIT: Final = 4096
#: Characters dropped before a pre-scan cut: longer than any match that can hold blanks and straddle it.
_CUT_BACKOFF: Final = 256
_MIN_BASE64: Final = 12
_DROP_DIGITS: Final = str.maketrans("", "", "0123456789")
_KV_BARE: Final = re.compile(X.KV_BARE)
_MIN_KEY_TOKEN: Final = 15  # shortest provider token; shorter kv keys cannot hide one
_VALUE_END: Final = re.compile(r"[\r\n,;&)\]}\"'<>|]")
_LINE_END: Final = re.compile(r"[\r\n]")
#: What a handler returns: the replacement, a replacement plus where scanning resumes, or None to decline.
Result = str | tuple[str, int] | None


_VERSION_CONTEXT: Final = re.compile(
    r"(?i)(?:cudnn|cuda|tensorrt|trt|nccl|driver|version|ver|release|build|v)[\s:=_-]*$"
)


def _version_like(octets: list[int], before: str) -> bool:
    """Four dotted numbers that are a version: after a product or version word (``TensorRT 10.0.1.6``), or
    small first three parts outside every private range (``8.9.2.26``: cuDNN, TensorRT and driver builds)."""
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


class Scanner:
    """Compiled detectors for one policy and one home folder."""

    def __init__(self, policy: PrivacyPolicy, keys: KeyClassifier, home: HomeSpec | None, hasher: Hasher) -> None:
        home_srcs = home_patterns(home) if home is not None else []
        self._detectors = X.Detectors(home_srcs)
        numbers = self._detectors.regex(X.DIGIT_FAMILIES)
        assert numbers is not None
        self._numbers = numbers
        self._home_rx = re.compile("|".join(f"(?:{s})" for s in home_srcs)) if home_srcs else None
        self._home_user = home.parts[-1].lower() if home is not None else None
        self._custom = [(rule_id, rx, R.marker_for(rule_id)) for rule_id, rx in policy.compiled_patterns()]
        self._max = policy.max_string_length
        self._scan_cap = 2 * policy.max_string_length + 1024
        self.keys = keys
        self.hash = hasher
        self._leaf_cache: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {}
        #: Stack frame lines recur across errors; stacktrace.py keeps what each became here.
        self.frame_cache: dict[str, tuple[str | None, tuple[tuple[str, int], ...]]] = {}

    # --- entry points ------------------------------------------------------------------------------------
    def scan_text(self, text: str, counts: Counts, version_key: bool = False) -> str:
        """Every detector over free text, on every decoded form (see :mod:`.normalize`), then the length limit.

        The most decoded form that holds a finding is what is stored, scrubbed; when no decoded form
        holds one, the original is scanned and stored (benign text keeps its spelling).
        """
        folded = fold_text(text)
        forms: tuple[str, ...]
        if folded is not text and folded != text:
            decoded = decoded_form(folded)
            forms = (decoded, folded) if decoded != folded else (folded,)
        else:
            decoded = decoded_form(text)
            forms = (decoded,) if decoded != text else ()
        for form in forms:
            local: Counts = {}
            out = self._scan_form(form, local, version_key)
            if local:
                for rule, n in local.items():
                    count(counts, rule, n)
                return out
        return self._scan_form(text, counts, version_key)

    def _scan_form(self, text: str, counts: Counts, version_key: bool) -> str:
        truncated = False
        if len(text) > self._scan_cap:
            # Cut before scanning (the cost is linear in what is scanned), then back off far enough that no
            # match with blanks in it (a grouped card or phone number, "password: x y") can straddle the cut.
            cut = text[: self._scan_cap - _CUT_BACKOFF]
            tail = _TOKEN_TAIL.match(cut[::-1])  # the token the cut went through, read backwards
            text = cut[: len(cut) - (tail.end() if tail is not None else 0)] or R.MARKERS[R.LIMIT_TRUNCATED]
            truncated = True
        out, split_risk = self._scan(text, counts, X.FULL, version_key, X.ALL_F)
        if split_risk:
            # A URL or path match may have swallowed the first piece of something with blanks in it (the URL
            # in "?q=4111 1111 1111 1111" or "?q=api_key: abc" ends at the first blank): scan the output
            # again for the families whose matches can hold blanks, key=value included. IPv4 is declined
            # there (version_key): an address has no blanks, and a version key's value must stay.
            out = self.scan(out, counts, X.FULL, True, X.REPAIR_FAMILIES)
        out = self.finish(out, counts)
        if len(out) >= _MIN_BASE64:
            out = self._encoded(out, counts)
        if len(out) > self._max:
            out = self.limit(out, counts)
            truncated = False  # counted by limit
        if truncated:
            count(counts, R.LIMIT_TRUNCATED)
        return out

    def _encoded(self, out: str, counts: Counts) -> str:
        """Base64-looking tokens whose decoded text holds a finding become ``<secret:encoded>``."""
        found = base64_tokens(out)
        if not found:
            return out
        parts: list[str] = []
        emitted = 0
        for start, end, decoded in found:
            local: Counts = {}
            self._scan_form(decoded, local, False)
            if local:
                parts += [out[emitted:start], R.MARKERS[R.SECRET_ENCODED]]
                emitted = end
                count(counts, R.SECRET_ENCODED)
        if not parts:
            return out
        parts.append(out[emitted:])
        return "".join(parts)

    def finish(self, out: str, counts: Counts) -> str:
        """The passes that run over finished text: e-mail addresses, random-looking secrets, policy patterns."""
        if "@" in out or "%40" in out:
            out = replace_emails(out, counts)
        if len(out) >= 14 and out.count(".") >= 2:
            out, n = X.MAC_DOTTED.subn(R.MARKERS[R.VALUE_MAC], out)
            if n:
                count(counts, R.VALUE_MAC, n)
        if len(out) >= 20:
            out = replace_random(out, counts)
        for rule_id, rx, marker in self._custom:
            out, n = rx.subn(marker, out)
            if n:
                count(counts, rule_id, n)
        return out

    def limit(self, text: str, counts: Counts, limit: int | None = None) -> str:
        """The length limit, for text that is already scrubbed: cut at a token boundary, then marked."""
        limit = self._max if limit is None else limit
        if len(text) <= limit:
            return text
        count(counts, R.LIMIT_TRUNCATED)
        cut = text[:limit]
        tail = _TOKEN_TAIL.match(cut[::-1])
        if tail is not None and tail.end() < len(cut):
            cut = cut[: len(cut) - tail.end()]
        return cut + R.MARKERS[R.LIMIT_TRUNCATED]

    def is_home(self, text: str) -> bool:
        """Whether text starts with the current user's home folder (any spelling)."""
        return self._home_rx is not None and self._home_rx.match(text) is not None

    def features(self, text: str) -> int:
        """Which detector families could match (see the gates in :mod:`.patterns`)."""
        mask = 0
        colon = ":" in text
        if colon or "=" in text:
            mask |= X.KV_F
        if colon:
            if "://" in text:
                mask |= X.URL_F
            if "::" in text or text.count(":") >= 6:
                mask |= X.IPV6_F
            if X.WIN_GATE.search(text) is not None:
                mask |= X.WIN_F
        if "/" in text or "\\" in text or "%" in text:
            if self._home_user is not None and self._home_user in text.lower():
                mask |= X.HOME_F
            if X.POSIX_GATE.search(text) is not None:
                mask |= X.POSIX_F
            if "\\\\" in text:
                mask |= X.UNC_F
            if "~/" in text or "~\\" in text:
                mask |= X.TILDE_F
            if "./" in text or ".\\" in text:
                mask |= X.REL_F
        n = len(text)
        if n >= 7 and X.DIGIT_RUN.search(text) is not None:
            mask |= X.DIGIT_FAMILIES  # searched inside the digit runs only (see _next_number)
        if n >= 15:
            if X.TOKEN_GATE.search(" " + text) is not None:  # the blank lets a token at the very start count
                mask |= X.TOKEN_F
            if n >= 17 and (colon or "-" in text) and X.MAC_GATE.search(text) is not None:
                mask |= X.MAC_F
            if " " in text or "\t" in text:
                low = text.lower()
                if "bearer" in low or "basic" in low:
                    mask |= X.BEARER_F
            if "-----BEGIN" in text:
                mask |= X.PEM_F
        return mask

    def scan(self, text: str, counts: Counts, level: int, version_key: bool = False, only: int = X.ALL_F) -> str:
        """One detector pass at a level (no e-mail, entropy or length pass): used for fragments too."""
        return self._scan(text, counts, level, version_key, only)[0]

    def _scan(self, text: str, counts: Counts, level: int, version_key: bool, only: int) -> tuple[str, bool]:
        """:meth:`scan`, also telling whether a URL or path match ended where something with blanks may go on.

        Three streams of candidates are merged in text order: the combined regex's matches; numbers (IPv4,
        phone, card), searched only inside runs of digits and separators; and ``key=value`` pairs, found from
        their separator. Trying those patterns at every digit or letter is what makes free text slow. On a
        tie the combined regex wins (what it finds there, a MAC or an IPv6 address, is more specific).
        """
        mask = self.features(text) & X.LEVEL_MASK[level] & only
        if not mask:
            return text, False
        split_risk = False
        rx = self._detectors.regex(mask & ~(X.KV_F | X.DIGIT_FAMILIES))
        m = rx.search(text) if rx is not None else None
        dm, run_end = self._next_number(text, 0, 0) if mask & X.DIGIT_FAMILIES else (None, 0)
        repair = only != X.ALL_F
        heads = self._kv_heads(text, repair) if mask & X.KV_F else []
        kv = self._next_kv(heads, 0)
        parts: list[str] = []
        emitted = 0
        while True:
            taken: re.Match[str] | KvHead | None = m
            source = 1
            if dm is not None and (taken is None or dm.start() < taken.start()):
                taken, source = dm, 2
            if kv is not None and (taken is None or kv.start() < taken.start()):
                taken, source = kv, 3
            if taken is None:
                break
            if isinstance(taken, KvHead):
                result: Result = self._kv(taken, counts, repair)
            else:
                group = taken.lastgroup
                rule = _SIMPLE.get(group)  # type: ignore[arg-type]  # every alternative ends in a named group
                if rule is not None:
                    count(counts, rule)
                    result = R.MARKERS[rule]
                else:
                    result = self._dispatch(taken, group, counts, level, version_key)
                if result is None:  # declined: look again one character further
                    if source == 1:
                        m = rx.search(text, taken.start() + 1)  # type: ignore[union-attr]
                    else:
                        dm, run_end = self._next_number(text, taken.start() + 1, run_end)
                    continue
            # A handler may consume more than its match: a denied key's value runs on to the next delimiter,
            # an IPv6 address may end before a trailing colon.
            if isinstance(result, tuple):
                repl, end = result
            else:
                assert result is not None
                repl, end = result, taken.end()
            parts.append(text[emitted : taken.start()])
            parts.append(repl)
            emitted = end
            if (
                end < len(text)
                and text[end] in _SPLIT_CHARS
                and source == 1
                and (taken.lastgroup in _STOPS_AT_BLANKS or str(taken.lastgroup).startswith("home"))
            ):
                split_risk = True
            if m is not None and m.start() < end:
                m = rx.search(text, end)  # type: ignore[union-attr]
            if dm is not None and dm.start() < end:
                dm, run_end = self._next_number(text, end, run_end)
            if kv is not None and kv.start() < end:
                kv = self._next_kv(heads, end)
        if not parts:
            return text, split_risk
        parts.append(text[emitted:])
        return "".join(parts), split_risk

    def _next_number(self, text: str, pos: int, run_end: int) -> tuple[re.Match[str] | None, int]:
        """The next IPv4 address, phone or card number at or after pos, and the end of its digit run.

        Searched only inside runs of seven or more digits and separators (every match lies in one); the
        search may look two characters past a run, which is all the patterns' look-aheads need. ``run_end``
        is the end of the run searched last: resuming inside it does not search for the run again.
        """
        n = len(text)
        while True:
            if pos < run_end:
                m = self._numbers.search(text, pos, min(n, run_end + 2))
                if m is not None:
                    return m, run_end
                pos = run_end
            run = X.DIGIT_RUN.search(text, pos)
            if run is None:
                return None, run_end
            body = run.group()
            digits = len(body) - len(body.translate(_DROP_DIGITS))
            if digits < 8 and not (digits >= 4 and body.count(".") >= 3):
                pos = run.end()  # too few digits for a phone or card, too few dots for an address
                continue
            pos, run_end = run.start(), run.end()

    def _kv_heads(self, text: str, repair: bool) -> list[KvHead]:
        """The ``key=value`` heads whose key matters, last first (so ``pop()`` walks them in text order).

        Found in one pass over the text reversed, where each head starts at its separator: a regex opening
        with ``[:=]`` skips ahead in C, where :data:`patterns.KV` would be tried at every letter. Heads with
        a harmless key are left out: the value is scanned like any text, which is all they would do.
        """
        n = len(text)
        heads = []
        classify, version = self.keys.classify, self.keys.version
        for m in X.KV_REV.finditer(text[::-1]):
            key_start, key_end = n - m.end("key"), n - m.start("key")
            key = text[key_start:key_end]
            decision = classify(key)
            if repair and decision == HASH:
                decision = None  # the repair pass reads output: a hashed value must not be hashed again
            if decision is None and not version(key):
                continue
            # In the repair pass the text holds our own markers; <secret:jwt> is not a secret key.
            if repair and key_start > 0 and text[key_start - 1] == "<" and key in _MARKER_HEADS:
                continue
            value = sep = n - 1 - m.start()
            while value + 1 < n and value - sep < 3 and text[value + 1] in " \t":
                value += 1
            heads.append(KvHead(text, key_start, key_end, value + 1))
        return heads

    @staticmethod
    def _next_kv(heads: list[KvHead], pos: int) -> KvHead | None:
        """The next head whose key starts at or after pos."""
        while heads:
            head = heads.pop()
            if head.key_start >= pos:
                return head
        return None

    # --- handlers ----------------------------------------------------------------------------------------
    def _dispatch(self, m: re.Match[str], group: str | None, counts: Counts, level: int, vk: bool) -> Result:
        text = m.group()
        if group in _PATH_ORIGINS:
            return self._path(text, group, counts)
        if group is not None and group.startswith("home"):
            return self._home(m.group(f"home_tail{group[4:]}"), counts)
        if group == "url":
            return scrub_url(self, text, counts)
        if group == "ipv4":
            octets = [int(o) for o in text.split(".")]
            if vk or text.startswith("127.") or text == "0.0.0.0" or any(o > 255 for o in octets):
                return None  # versions; loopback and "any" addresses say nothing about anyone
            if _version_like(octets, m.string[max(0, m.start() - 24) : m.start()]):
                return None
            count(counts, R.VALUE_IPV4)
            return R.MARKERS[R.VALUE_IPV4]
        if group == "ipv6":
            address = text
            while not is_ipv6(address):
                if not address.endswith(":"):
                    return None
                address = address[:-1]  # "fe80::1: connection refused" -> the address ends before ": "
            if address in ("::1", "::"):
                return None
            count(counts, R.VALUE_IPV6)
            return R.MARKERS[R.VALUE_IPV6], m.start() + len(address)
        if group == "card":
            if not is_card(text):
                return None
            count(counts, R.VALUE_CARD)
            return R.MARKERS[R.VALUE_CARD]
        if group == "phone_intl":
            if not phone_digits_ok(text):
                return None
            count(counts, R.VALUE_PHONE)
            return R.MARKERS[R.VALUE_PHONE]
        if group == "bearer":
            token = m.group("auth_token")
            scheme = text[:6] if text[:6].lower() == "bearer" else text[:5]
            if scheme.lower() == "basic":
                if not is_basic_credential(token):
                    return None
                count(counts, R.SECRET_BASIC)
                return f"{scheme} {R.MARKERS[R.SECRET_BASIC]}"
            if not is_bearer_credential(token):
                return None
            count(counts, R.SECRET_BEARER)
            return f"{scheme} {R.MARKERS[R.SECRET_BEARER]}"
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
        shown_key = self.scan(key, counts, X.LEAF) if len(key) >= _MIN_KEY_TOKEN else key
        close = text.find(quote, start + 1) if quote else -1
        if close != -1 and close - start <= 4097 and "\n" not in text[start:close]:
            value, end = text[start + 1 : close], close + 1
        elif quote:
            quote, value, end = "", "", -1  # an unterminated quote: treated as unquoted, to its end below
        else:
            bare = _KV_BARE.match(text, start)
            value, end = (bare.group(), bare.end()) if bare is not None else ("", start)
        if decision == R.KEY_HOST and is_public_host(value):
            return f"{shown_key}{sep}{quote}{value}{quote}", end  # host='huggingface.co' names no one
        if decision is None:  # a version key: dotted quads there are versions, not addresses
            return f"{shown_key}{sep}{quote}{self.scan(value, counts, X.NO_KV, True)}{quote}", max(end, start)
        if decision == HASH and end != -1:
            count(counts, R.ID_HASHED)
            return f"{shown_key}{sep}{quote}{self.hash(value)}{quote}", end
        count(counts, decision if decision != HASH else R.ID_HASHED)
        if quote:
            return f"{shown_key}{sep}{quote}{R.KEY_MARKER}{quote}", end
        # An unquoted secret may run on past a space ("password: correct horse battery"): everything up to
        # the end of the line or the next delimiter goes; a cookie header's value is every cookie to the end
        # of the line.
        stop = (_LINE_END if decision == R.KEY_COOKIE else _VALUE_END).search(text, start + 1)
        return f"{shown_key}{sep}{R.KEY_MARKER}", (stop.start() if stop is not None else len(text))

    def leaf_name(self, name: str, counts: Counts) -> str:
        """A file name or other fragment that is no longer a path: hide the user's name, run the detectors.

        File names recur (train.py, adapter_model.safetensors), so results are cached.
        """
        hit = self._leaf_cache.get(name)
        if hit is None:
            local: Counts = {}
            if self._home_user is not None and name.lower() == self._home_user:
                out = R.MARKERS[R.PATH_HOME]
            else:
                out = self.scan(name, local, X.LEAF)
            hit = (out, tuple(local.items()))
            if len(self._leaf_cache) >= _CACHE_LIMIT:
                self._leaf_cache.clear()
            self._leaf_cache[name] = hit
        for rule, n in hit[1]:
            counts[rule] = counts.get(rule, 0) + n
        return hit[0]

    def clear_caches(self) -> None:
        self._leaf_cache.clear()
        self.frame_cache.clear()

    def _path(self, text: str, origin: str, counts: Counts) -> str:
        reduced = reduce_path(text, origin)
        if reduced is None:
            return self.scan(text, counts, X.LEAF)  # a URL route, not a file: keep, but still scan it
        name, rule = reduced
        count(counts, rule)
        if rule == R.PATH_USER_HOME and name == R.MARKERS[R.PATH_USER_HOME]:
            return name
        return self.leaf_name(name, counts)

    def _home(self, tail: str | None, counts: Counts) -> str:
        if tail and "%" in tail:
            tail = unquote(tail)
        reduced = reduce_path(tail, "home_tail") if tail else None
        if reduced is None:
            count(counts, R.PATH_HOME)
            return R.MARKERS[R.PATH_HOME]
        name, rule = reduced
        count(counts, rule)
        return self.leaf_name(name, counts)
