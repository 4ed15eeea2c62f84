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
from typing import Final

from processors._bounded_cache import BoundedCache

from . import patterns, rules
from .handlers import Counts, Hasher, KvHead, MatchHandlers, Result, count
from .keys import HASH, KeyClassifier
from .normalize import base64_tokens, decoded_form, fold_text
from .paths import HomeSpec, home_patterns
from .policy import PrivacyPolicy
from .postpass import replace_emails, replace_random
from .shapes import identity_numbers, named_values

# Alternatives whose every match is a finding: group name -> rule id.
_SIMPLE: Final[dict[str, str]] = {
    "pem": rules.SECRET_PRIVATE_KEY,
    "jwt": rules.SECRET_JWT,
    "anthropic": rules.SECRET_ANTHROPIC,
    "openai": rules.SECRET_OPENAI,
    "huggingface": rules.SECRET_HUGGINGFACE,
    "github": rules.SECRET_GITHUB,
    "gitlab": rules.SECRET_GITLAB,
    "slack": rules.SECRET_SLACK,
    "google": rules.SECRET_GOOGLE,
    "aws": rules.SECRET_AWS,
    "stripe": rules.SECRET_STRIPE,
    "registry": rules.SECRET_PACKAGE_REGISTRY,
    "mac": rules.VALUE_MAC,
    "phone_nanp": rules.VALUE_PHONE,
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
FRAME_CACHE_LIMIT: Final = 4096  # frame lines remembered by ``stacktrace``
#: Characters dropped before a pre-scan cut: longer than any match that can hold blanks and straddle it.
_CUT_BACKOFF: Final = 256
_MIN_BASE64: Final = 12
_DROP_DIGITS: Final = str.maketrans("", "", "0123456789")
_KV_BARE: Final = re.compile(patterns.KV_BARE)
_MIN_KEY_TOKEN: Final = 15  # shortest provider token; shorter kv keys cannot hide one
_VALUE_END: Final = re.compile(r"[\r\n,;&)\]}\"'<>|]")
_LINE_END: Final = re.compile(r"[\r\n]")
_FLAG_GATE: Final = re.compile(r"(?:^|[\s\"'(\[,])-")
_ID_NUMBER_GATE: Final = re.compile(r"\d\d[ -]?\w")  # an IBAN's check digits or an SSN's area


class Scanner(MatchHandlers):
    """Compiled detectors for one policy and one home folder (handlers in :mod:`.handlers`)."""

    def __init__(self, policy: PrivacyPolicy, keys: KeyClassifier, home: HomeSpec | None, hasher: Hasher) -> None:
        home_srcs = home_patterns(home) if home is not None else []
        self._detectors = patterns.Detectors(home_srcs)
        numbers = self._detectors.regex(patterns.DIGIT_FAMILIES)
        assert numbers is not None
        self._numbers = numbers
        self._home_rx = re.compile("|".join(f"(?:{s})" for s in home_srcs)) if home_srcs else None
        self._home_user = home.parts[-1].lower() if home is not None else None
        self._custom = [(rule_id, rx, rules.marker_for(rule_id)) for rule_id, rx in policy.compiled_patterns()]
        self._max = policy.max_string_length
        self._scan_cap = 2 * policy.max_string_length + 1024
        self.keys = keys
        self.hash = hasher
        self._leaf_cache: BoundedCache[str, tuple[str, tuple[tuple[str, int], ...]]] = BoundedCache(_CACHE_LIMIT)
        #: Stack frame lines recur across errors; stacktrace.py keeps what each became here.
        self.frame_cache: BoundedCache[str, tuple[str | None, tuple[tuple[str, int], ...]]] = BoundedCache(
            FRAME_CACHE_LIMIT
        )

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
            text = cut[: len(cut) - (tail.end() if tail is not None else 0)] or rules.MARKERS[rules.LIMIT_TRUNCATED]
            truncated = True
        out, split_risk = self._scan(text, counts, patterns.FULL, version_key, patterns.ALL_F)
        if split_risk:
            # A URL or path match may have swallowed the first piece of something with blanks in it (the URL
            # in "?q=4111 1111 1111 1111" or "?q=api_key: abc" ends at the first blank): scan the output
            # again for the families whose matches can hold blanks, key=value included. IPv4 is declined
            # there (version_key): an address has no blanks, and a version key's value must stay.
            out = self.scan(out, counts, patterns.FULL, True, patterns.REPAIR_FAMILIES)
        out = self.finish(out, counts)
        if len(out) >= _MIN_BASE64:
            out = self._encoded(out, counts)
        if len(out) > self._max:
            out = self.limit(out, counts)
            truncated = False  # counted by limit
        if truncated:
            count(counts, rules.LIMIT_TRUNCATED)
        return out

    def _encoded(self, out: str, counts: Counts) -> str:
        """Base64-looking tokens and hex runs whose decoded text holds a finding become ``<secret:encoded>``."""
        found = base64_tokens(out)
        if not found:
            return out
        parts: list[str] = []
        emitted = 0
        for start, end, decoded in found:
            local: Counts = {}
            self._scan_form(decoded, local, False)
            if local:
                parts += [out[emitted:start], rules.MARKERS[rules.SECRET_ENCODED]]
                emitted = end
                count(counts, rules.SECRET_ENCODED)
        if not parts:
            return out
        parts.append(out[emitted:])
        return "".join(parts)

    def finish(self, out: str, counts: Counts) -> str:
        """The passes that run over finished text: e-mail addresses, random-looking secrets, policy patterns."""
        if "@" in out or "%40" in out:
            out = replace_emails(out, counts)
        if len(out) >= 14 and out.count(".") >= 2:
            out, n = patterns.MAC_DOTTED.subn(rules.MARKERS[rules.VALUE_MAC], out)
            if n:
                count(counts, rules.VALUE_MAC, n)
        # Gates that every match of the passes in shapes.py implies (most values open neither).
        if "</" in out or ("-" in out and _FLAG_GATE.search(out) is not None):
            out = named_values(out, counts, self.keys.classify, self.hash)
        if len(out) >= 11 and _ID_NUMBER_GATE.search(out) is not None:
            out = identity_numbers(out, counts)
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
        count(counts, rules.LIMIT_TRUNCATED)
        cut = text[:limit]
        tail = _TOKEN_TAIL.match(cut[::-1])
        if tail is not None and tail.end() < len(cut):
            cut = cut[: len(cut) - tail.end()]
        return cut + rules.MARKERS[rules.LIMIT_TRUNCATED]

    def is_home(self, text: str) -> bool:
        """Whether text starts with the current user's home folder (any spelling)."""
        return self._home_rx is not None and self._home_rx.match(text) is not None

    def features(self, text: str) -> int:
        """Which detector families could match (see the gates in :mod:`.patterns`)."""
        mask = 0
        colon = ":" in text
        if colon or "=" in text:
            mask |= patterns.KV_F
        if colon:
            if "://" in text:
                mask |= patterns.URL_F
            if "::" in text or text.count(":") >= 6:
                mask |= patterns.IPV6_F
            if patterns.WIN_GATE.search(text) is not None:
                mask |= patterns.WIN_F
        if "/" in text or "\\" in text or "%" in text:
            if self._home_user is not None and self._home_user in text.lower():
                mask |= patterns.HOME_F
            if patterns.POSIX_GATE.search(text) is not None:
                mask |= patterns.POSIX_F
            if "\\\\" in text:
                mask |= patterns.UNC_F
            if "~/" in text or "~\\" in text:
                mask |= patterns.TILDE_F
            if "./" in text or ".\\" in text:
                mask |= patterns.REL_F
        n = len(text)
        if n >= 7 and patterns.DIGIT_RUN.search(text) is not None:
            mask |= patterns.DIGIT_FAMILIES  # searched inside the digit runs only (see _next_number)
        if n >= 15:
            if patterns.TOKEN_GATE.search(" " + text) is not None:  # the blank lets a token at the very start count
                mask |= patterns.TOKEN_F
            if n >= 17 and (colon or "-" in text) and patterns.MAC_GATE.search(text) is not None:
                mask |= patterns.MAC_F
            if " " in text or "\t" in text:
                low = text.lower()
                if "bearer" in low or "basic" in low:
                    mask |= patterns.BEARER_F
            if "-----BEGIN" in text:
                mask |= patterns.PEM_F
        return mask

    def scan(self, text: str, counts: Counts, level: int, version_key: bool = False, only: int = patterns.ALL_F) -> str:
        """One detector pass at a level (no e-mail, entropy or length pass): used for fragments too."""
        return self._scan(text, counts, level, version_key, only)[0]

    def _scan(self, text: str, counts: Counts, level: int, version_key: bool, only: int) -> tuple[str, bool]:
        """:meth:`scan`, also telling whether a URL or path match ended where something with blanks may go on.

        Three streams of candidates are merged in text order: the combined regex's matches; numbers (IPv4,
        phone, card), searched only inside runs of digits and separators; and ``key=value`` pairs, found from
        their separator. Trying those patterns at every digit or letter is what makes free text slow. On a
        tie the combined regex wins (what it finds there, a MAC or an IPv6 address, is more specific).
        """
        mask = self.features(text) & patterns.LEVEL_MASK[level] & only
        if not mask:
            return text, False
        split_risk = False
        rx = self._detectors.regex(mask & ~(patterns.KV_F | patterns.DIGIT_FAMILIES))
        m = rx.search(text) if rx is not None else None
        dm, run_end = self._next_number(text, 0, 0) if mask & patterns.DIGIT_FAMILIES else (None, 0)
        repair = only != patterns.ALL_F
        heads = self._kv_heads(text, repair) if mask & patterns.KV_F else []
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
                    result = rules.MARKERS[rule]
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
            run = patterns.DIGIT_RUN.search(text, pos)
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
        for m in patterns.KV_REV.finditer(text[::-1]):
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

    def clear_caches(self) -> None:
        self._leaf_cache.clear()
        self.frame_cache.clear()
