"""Checks that turn a regex candidate into a finding: Luhn, card layout, IPv6 syntax, randomness.

Regexes find shapes; these functions decide whether the shape is the thing. They keep version strings,
timestamps, clock times, hex digests and compound identifiers such as ``Meta-Llama-3-8B-Instruct`` out of
the findings, which is what lets most benign telemetry through unchanged.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections import Counter
from typing import Final

_HEX: Final = re.compile(r"[0-9a-fA-F]+")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_PIECES: Final = re.compile(r"[-_.=]+")  # "=" inside a run joins key and value; base64 has it only at the end
_WORDISH: Final = re.compile(r"[A-Z]?[a-z]{3,}")
_RUNS: Final = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[^A-Za-z0-9]+")
_DIGIT: Final = re.compile(r"\d")
_CARD_SEP: Final = re.compile(r"[ .-]")


def luhn_ok(digits: str) -> bool:
    total = 0
    parity = len(digits) % 2
    for i, ch in enumerate(digits):
        d = ord(ch) - 48
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _issuer_ok(digits: str) -> bool:
    """Known issuer prefixes: this is what keeps nanosecond timestamps (17..., 16...) out."""
    n = len(digits)
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    two, four = int(digits[:2]), int(digits[:4])
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16  # Mastercard
    if two in (34, 37):
        return n == 15  # Amex
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649 or two == 62:
        return 16 <= n <= 19  # Discover, UnionPay
    if 2200 <= four <= 2204:
        return 16 <= n <= 19  # Mir
    if 3528 <= four <= 3589:
        return 16 <= n <= 19  # JCB
    if 300 <= int(digits[:3]) <= 305 or two in (36, 38, 39):
        return 14 <= n <= 19  # Diners
    if two in (50, 56, 57, 58, 63, 67, 68, 69):
        return 12 <= n <= 19  # Maestro
    return False


def is_card(candidate: str) -> bool:
    """A payment card number: known issuer, valid Luhn, and written as one run or in 4-digit groups."""
    if candidate.endswith(".0"):
        candidate = candidate[:-2]  # a card number written as a float
    groups = _CARD_SEP.split(candidate)
    digits = "".join(groups)
    if not 13 <= len(digits) <= 19:
        return False
    if len(groups) > 1:
        sizes = [len(g) for g in groups]
        grouped_by_four = all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4
        if not (grouped_by_four or sizes in ([4, 6, 5], [4, 6, 4])):
            return False
    return _issuer_ok(digits) and luhn_ok(digits)


def is_card_int(value: int) -> bool:
    """Integers get the same check: a card number stored as a number is still a card number."""
    if value < 10**12 or value >= 10**19:
        return False
    return is_card(str(value))


def phone_digits_ok(candidate: str) -> bool:
    n = sum(ch.isdigit() for ch in candidate)
    return 8 <= n <= 15


def is_ipv6(candidate: str) -> bool:
    address = candidate.split("%", 1)[0]
    colons = address.count(":")
    if colons < 2 or ("::" not in address and colons != 7 and "." not in address):
        return False  # clock times (12:30:45) and ratios have neither "::" nor eight groups
    if not any(ch.isalnum() for ch in address):
        return False
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


def is_basic_credential(token: str) -> bool:
    """``Basic`` is an ordinary English word; a Basic credential is base64 of ``user:password``."""
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def is_bearer_credential(token: str) -> bool:
    """Bearer tokens are opaque; English after "bearer" has no digits or symbols and is short."""
    if len(token) >= 16:
        return True
    return any(not ch.isalpha() for ch in token)


def shannon_bits(text: str) -> float:
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def looks_random(candidate: str) -> bool:
    """A long random-looking token (a secret), as opposed to an identifier, digest or number.

    Kept on purpose: pure hex (git commit ids, sha256 sums, trace ids, our own hashed ids) and UUIDs; compound
    names whose pieces between ``-``, ``_`` and ``.`` are short (``Meta-Llama-3-8B-Instruct``) or that are
    mostly words (``HuggingFaceH4/zephyr``); strings without both letters and digits unless very long and
    mixed-case. Random base64 switches between lower
    case, upper case and digits at about two thirds of its characters; names do so rarely.
    """
    text = candidate.strip("=")
    if len(text) < 20:
        return False
    # Cheapest tests first: this runs on every long identifier in every string.
    if text.count("/") >= 2 and max(map(len, text.split("/"))) < 16:
        return False  # a path or route of short segments (/experiments/3/runs/9f8e7d6c5b4a)
    piece = max(_PIECES.split(text), key=len)
    n = len(piece)
    if n < 16 or _HEX.fullmatch(piece) or _UUID.fullmatch(text):
        return False
    # Names are made of words (HuggingFaceH4/zephyr); random text rarely has three lowercase letters in a row.
    if sum(len(w) for w in _WORDISH.findall(text)) * 2 >= len(text):
        return False
    has_digit = _DIGIT.search(piece) is not None
    if not has_digit and not (n >= 32 and not piece.islower() and not piece.isupper()):
        return False
    if not any(ch.isalpha() for ch in piece):
        return False
    # Random base64 switches between lower case, upper case and digits at about two thirds of its characters.
    switches = len(_RUNS.findall(piece)) - 1
    if switches / (n - 1) < 0.3:
        return False
    return shannon_bits(piece) >= 3.3
