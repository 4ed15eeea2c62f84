r"""Regex sources of the value detectors, combined into one alternation per set of families.

The scanner (detectors.py) tests each string cheaply first (is there a ":", a "/", a run of digits, a
provider prefix?) and runs one alternation holding only the families that could match. Order matters only
among alternatives that can start at the same character (Python's ``re`` takes the first that matches
there): specific shapes come before generic ones, whatever families are chosen. Each alternative ends with
an empty named group; the scanner dispatches on ``match.lastgroup``. Numbers (IPv4, phone, card) and
``key=value`` pairs are searched apart (only inside digit runs, and from their separator), and e-mail
addresses and random-looking secrets by passes over the finished text (postpass.py).

Speed comes from the shape of each alternative: it opens with its first character's class (``re``'s
alternation skips such an alternative in C where that character is absent) followed by a two-character
look-behind that accepts only token starts (``\d(?<![\w.][\s\S])`` is "a digit not preceded by a word
character or a dot"). Bounded quantifiers keep backtracking linear.

Levels: FULL scans free text; NO_KV scans URL parameter values and version values (no key=value inside);
LEAF scans fragments already known not to be paths or URLs (a file name, a URL path, a host)."""

from __future__ import annotations

import re
from typing import Final

from processors._bounded_cache import BoundedCache

from . import paths

_NB: Final = r"[\s\S]"  # the first character, already consumed, inside a two-character look-behind

PEM: Final = (
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)"
)
URL: Final = rf"[A-Za-z](?<![\w.+-]{_NB})[A-Za-z0-9+.-]{{1,15}}://[^\s\"'<>`]+"
JWT: Final = rf"e(?<![\w-]{_NB})yJ[A-Za-z0-9_-]{{5,}}\.[A-Za-z0-9_-]{{5,}}\.[A-Za-z0-9_-]*"


def _token(first: str, rest: str) -> str:
    """Provider tokens start after a non-alphanumeric (an underscore is fine: HF_TOKEN=hf_...)."""
    return rf"{first}(?<![A-Za-z0-9]{_NB}){rest}"


ANTHROPIC: Final = _token("s", r"k-ant-[A-Za-z0-9_-]{20,}")
OPENAI: Final = _token("s", r"k-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")
HUGGINGFACE: Final = _token("[ha]", r"(?:(?<=h)f_|(?<=a)pi_org_)[A-Za-z0-9]{30,}")
GITHUB: Final = _token("g", r"(?:h[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{22,})")
GITLAB: Final = _token("g", r"l(?:pat|dt|rt|ptt|ft|cbt|imt|oas|soat|agent)-[A-Za-z0-9_-]{20,}")
SLACK: Final = _token("x", r"(?:ox[abposre]-[A-Za-z0-9-]{10,}|app-\d-[A-Za-z0-9-]{10,})")
GOOGLE: Final = _token(
    "[AyG]", r"(?:(?<=A)Iza[0-9A-Za-z_-]{30,}|(?<=y)a29\.[0-9A-Za-z_-]{20,}|(?<=G)OCSPX-[0-9A-Za-z_-]{20,})"
)
AWS: Final = _token("A", r"(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|ROA|PKA)[A-Z0-9]{16}(?![A-Za-z0-9])")
STRIPE: Final = _token("[sr]", r"k_(?:live|test)_[0-9A-Za-z]{16,}")
REGISTRY: Final = _token("[np]", r"(?:(?<=n)pm_[A-Za-z0-9]{36}|(?<=p)ypi-AgE[A-Za-z0-9_-]{50,})")
#: E-mail addresses are found by a pass of their own over the finished text (only when it holds "@" or
#: "%40"): every address in the output, wherever it came from (a file name, a URL parameter), is caught.
EMAIL: Final = re.compile(
    rf"[\w.%+-](?<![\w.%+-]{_NB})[\w.%+-]{{0,63}}(?:@|%40)[\w-]{{1,63}}(?:\.[\w-]{{1,63}}){{0,8}}"
    r"\.(?:[^\W\d_]{2,24}|xn--[\w-]{1,59})(?![\w-])"
)
BEARER: Final = rf"[bB](?<!\w{_NB})(?i:earer|asic)[ \t]+(?P<auth_token>[A-Za-z0-9._~+/=-]{{8,}})"
MAC: Final = (
    rf"[0-9A-Fa-f](?<![\w:-]{_NB})[0-9A-Fa-f](?P<mac_sep>[:-])[0-9A-Fa-f]{{2}}"
    r"(?:(?P=mac_sep)[0-9A-Fa-f]{2}){4}(?![\w:-])"
)
IPV6: Final = (
    rf"[0-9A-Fa-f:](?<![\w:.]{_NB})(?:(?<=:)|(?=[0-9A-Fa-f]{{0,3}}:))[0-9A-Fa-f:]{{1,52}}"
    r"(?:\.\d{1,3}){0,3}(?:%[0-9A-Za-z]{1,15})?(?![\w:])"
)
#: Four dotted numbers; the handler checks that each is at most 255.
IPV4: Final = rf"\d(?<![\w.]{_NB})\d{{0,2}}(?:\.\d{{1,3}}){{3}}(?![\w]|\.\d)"
PHONE_INTL: Final = rf"\+(?<![\w+]{_NB})\d{{1,3}}(?:[ .-]?\(?\d{{1,4}}\)?){{2,6}}(?![\w]|\.\d)"
PHONE_NANP: Final = (
    rf"[\d(](?<![\w+.-]{_NB})(?:(?<=\()\d{{3}}\)[ .-]?|(?<=\d)\d{{2}}[ .-])\d{{3}}[ .-]\d{{4}}(?![\w-]|\.\d)"
)
CARD: Final = rf"\d(?<![\w.+-]{_NB})(?:[ .-]?\d){{12,18}}(?:\.0)?(?![\w]|\.\d)"
#: The head of ``key=value`` / ``key: value`` / ``"key": "value"`` / ``--key=value`` (a command-line
#: flag: one or two dashes before the key): the key (its first character plus ``kv_key``) and the separator,
#: where a value follows. Where the value ends is the handler's business:
#: only a denied key needs to know (matching every value to its end made "a:a:a:..." quadratic).
KV: Final = (
    rf"[A-Za-z_](?:(?<![\w.-]{_NB})|(?<=(?<![\w.-])-{_NB})|(?<=(?<![\w.-])--{_NB}))"
    rf"(?P<kv_key>[\w.-]{{0,63}})(?P<kv_sep>[\"']?[ \t]{{0,3}}[:=][ \t]{{0,3}})"
    r"(?=[\"']|[^\s\"'&,;<>=])"
)
#: :data:`KV` read backwards, which is how the scanner finds heads: over the reversed text, a head starts
#: at its separator, so ``re`` skips ahead in C to the next ":" or "=" instead of trying every letter. The
#: key comes out reversed; the value side is checked by look-behinds (one per count of blanks between
#: separator and value, as a look-behind must have a fixed width). A test checks the two agree.
_V: Final = r"[^\s&,;<>=]"  # a value's first character (a quote or anything KV allows there)
KV_REV: Final = re.compile(
    rf"[:=](?:(?<={_V}[:=])|(?<={_V}[ \t][:=])|(?<={_V}[ \t]{{2}}[:=])|(?<={_V}[ \t]{{3}}[:=]))"
    r"[ \t]{0,3}[\"']?(?P<key>[\w.-]{0,63}[A-Za-z_])(?=-{0,2}(?![\w.-]))"
)
#: An unquoted value (for hashing, and for version keys).
KV_BARE: Final = r"[^\s\"'&,;<>=]{1,4096}"

#: The generic secret detector runs as its own pass over the finished text (see Scanner.scan_text), so
#: that a long identifier it declines can never hide a specific finding that starts inside it. It opens
#: with a character class so ``re`` skips to candidates in C; a match always starts at a run's start because
#: runs are consumed whole.
#: It runs over the text with a blank in front and opens with the (rare) character before a run, so ``re``
#: tries only run starts.
#: Cisco-style MAC addresses (0011.2233.4455), found by a pass over finished text.
MAC_DOTTED: Final = re.compile(r"(?<![\w.])[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}(?![\w.])")
ENTROPY: Final = re.compile(r"([^A-Za-z0-9+/_=-])([A-Za-z0-9+/_=-]{20,})")

# Families of alternatives, each switched on by a gate: a test on the whole string that every match of the
# family implies (so a closed gate can never hide a finding) and that runs in C: a substring test, or a regex
# that opens with a literal or a character class so ``re`` skips to candidates without trying each position.
# Most benign values open no gate at all, and the alternation actually run holds only the families needed.
PEM_F: Final = 1 << 0
URL_F: Final = 1 << 1
HOME_F: Final = 1 << 2
WIN_F: Final = 1 << 3
UNC_F: Final = 1 << 4
TOKEN_F: Final = 1 << 5
BEARER_F: Final = 1 << 7
MAC_F: Final = 1 << 8
IPV6_F: Final = 1 << 9
IPV4_F: Final = 1 << 10
PHONE_F: Final = 1 << 11
CARD_F: Final = 1 << 12
KV_F: Final = 1 << 13
TILDE_F: Final = 1 << 14
REL_F: Final = 1 << 15
POSIX_F: Final = 1 << 16
ALL_F: Final = (1 << 17) - 1
DIGIT_FAMILIES: Final = IPV4_F | PHONE_F | CARD_F
#: Families whose matches can hold blanks, scanned again over a string's output (see Scanner.scan_text).
REPAIR_FAMILIES: Final = PEM_F | BEARER_F | PHONE_F | CARD_F | IPV4_F | KV_F
#: A run of seven or more digits and separators, from a digit, "(" or "+": every IPv4 address, phone and
#: card number lies in one, so the number patterns are only tried inside these (and most strings with
#: digits, such as llama-2-7b, 2e-4 or exp-01, have none at all).
DIGIT_RUN: Final = re.compile(r"[\d(+][\d ().+-]{6,}")

_TOKEN_PREFIXES: Final = (
    r"(?:s(?:k-|k_live_|k_test_)|hf_|api_org_|g(?:h[pousr]_|ithub_pat_|l[a-z]{1,5}-)|x(?:ox|app-)"
    r"|A(?:Iza|[BCGIKNPRS][A-Z]A[A-Z0-9]{16})|ya29\.|GOCSPX-|eyJ|rk_(?:live|test)_|npm_|pypi-)"
)
#: Token gate: a provider prefix right after a non-alphanumeric (where tokens start; the scanner prepends a
#: blank). It opens with the rare class of non-alphanumerics, so ``re`` tries few positions.
TOKEN_GATE: Final = re.compile(r"[^A-Za-z0-9]" + _TOKEN_PREFIXES)
# Each gate opens with a literal or a class and, where a class is common, starts only where a match can
# (a separator, a digit run's first digit): checked by a look-behind after the first character.
MAC_GATE: Final = re.compile(r"[:-](?<=[0-9A-Fa-f]{2}[:-])[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]")
WIN_GATE: Final = re.compile(r":(?<=[A-Za-z]:)[\\/]")
POSIX_GATE: Final = re.compile(r"/(?<![\w.~/\\%-]/)")

FULL: Final = 0
NO_KV: Final = 1
LEAF: Final = 2

#: Families allowed at each level.
LEVEL_MASK: Final = {
    FULL: ALL_F,
    NO_KV: ALL_F & ~KV_F,
    LEAF: ALL_F & ~(KV_F | URL_F | HOME_F | WIN_F | UNC_F | TILDE_F | REL_F | POSIX_F),
}


def _alternatives(home: list[str]) -> list[tuple[int, str, str]]:
    alts: list[tuple[int, str, str]] = [(PEM_F, "pem", PEM)]
    alts += [(HOME_F, f"home{i}", src) for i, src in enumerate(home)]
    alts += [
        (URL_F, "url", URL),
        (WIN_F, "win", paths.WIN_ABS),
        (UNC_F, "unc", paths.UNC),
        (TOKEN_F, "jwt", JWT),
        (TOKEN_F, "anthropic", ANTHROPIC),
        (TOKEN_F, "openai", OPENAI),
        (TOKEN_F, "huggingface", HUGGINGFACE),
        (TOKEN_F, "github", GITHUB),
        (TOKEN_F, "gitlab", GITLAB),
        (TOKEN_F, "slack", SLACK),
        (TOKEN_F, "google", GOOGLE),
        (TOKEN_F, "aws", AWS),
        (TOKEN_F, "stripe", STRIPE),
        (TOKEN_F, "registry", REGISTRY),
        (BEARER_F, "bearer", BEARER),
        (MAC_F, "mac", MAC),
        (IPV6_F, "ipv6", IPV6),
        (IPV4_F, "ipv4", IPV4),
        (PHONE_F, "phone_intl", PHONE_INTL),
        (PHONE_F, "phone_nanp", PHONE_NANP),
        (CARD_F, "card", CARD),
        (TILDE_F, "tilde", paths.TILDE),
        (REL_F, "rel", paths.RELATIVE),
        (POSIX_F, "posix", paths.POSIX_ABS),
    ]
    return alts


class Detectors:
    """The combined regex for each set of families, compiled on first use and kept."""

    def __init__(self, home: list[str]) -> None:
        self._alts = _alternatives(home)
        # A bound, though real text only ever shows a few dozen masks.
        self._compiled: BoundedCache[int, re.Pattern[str] | None] = BoundedCache(512)

    def regex(self, mask: int) -> re.Pattern[str] | None:
        try:
            return self._compiled[mask]
        except KeyError:
            pass
        # The named group closes each alternative (empty, so it closes last: ``lastgroup`` names the
        # alternative) instead of opening it, so every alternative starts with its first character's class
        # and ``re`` skips it in C at positions where that character cannot occur.
        chosen = [f"(?:{src})(?P<{name}>)" for family, name, src in self._alts if family & mask]
        rx = re.compile("|".join(chosen)) if chosen else None
        self._compiled.put(mask, rx)
        return rx
