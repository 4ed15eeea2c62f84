"""Passes over finished text: e-mail addresses and random-looking secrets.

They run after the main scan, over its output, so that whatever reached the output by any road (a file
name kept from a path, a URL parameter, the value of a harmless key) is still checked. Both are written to
try as few positions as possible: e-mail addresses are looked for only around an "@" (or "%40"), secrets
only at the start of a long run of token characters.
"""

from __future__ import annotations

import re

from . import patterns, rules
from .validators import looks_random

Counts = dict[str, int]

_LOCAL_EXTRA = frozenset("_.%+-")
_NOT_PIECE = re.compile(r"[^A-Za-z0-9+/]+")


def replace_emails(out: str, counts: Counts) -> str:
    """Every e-mail address becomes ``<email>``."""
    parts: list[str] = []
    emitted = pos = 0
    while True:
        at, pct = out.find("@", pos), out.find("%40", pos)
        a = at if pct < 0 or 0 <= at < pct else pct
        if a < 0:
            break
        # Walk back over the local part (at most 64 characters), then try the pattern once, anchored.
        k, lo = a, max(emitted, a - 64)
        while k > lo and (out[k - 1].isalnum() or out[k - 1] in _LOCAL_EXTRA):
            k -= 1
        m = patterns.EMAIL.match(out, k) if k < a else None
        if m is None:
            pos = a + 1
            continue
        parts.append(out[emitted:k])
        parts.append(rules.MARKERS[rules.VALUE_EMAIL])
        counts[rules.VALUE_EMAIL] = counts.get(rules.VALUE_EMAIL, 0) + 1
        emitted = pos = m.end()
    if not parts:
        return out
    parts.append(out[emitted:])
    return "".join(parts)


def replace_random(out: str, counts: Counts) -> str:
    """Long random-looking runs (see validators.looks_random) become ``<secret>``."""
    # A candidate is a run of 20+ characters without blanks, holding a piece of 16+ between separators:
    # two C-level splits tell, the cheap one first.
    if max(map(len, out.split())) < 20 or max(map(len, _NOT_PIECE.split(out))) < 16:
        return out
    padded = " " + out

    def one(m: re.Match[str]) -> str:
        if looks_random(m.group(2)):
            counts[rules.SECRET_HIGH_ENTROPY] = counts.get(rules.SECRET_HIGH_ENTROPY, 0) + 1
            return m.group(1) + rules.MARKERS[rules.SECRET_HIGH_ENTROPY]
        return m.group(0)

    result, n = patterns.ENTROPY.subn(one, padded)
    return result[1:] if n else out
