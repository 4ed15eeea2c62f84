"""Passes over finished text for shapes the main scan does not know: named values and identity numbers.

They run in ``Scanner.finish`` (after the main scan, over its output), each behind a cheap gate:

* a value named by a key in a shape other than ``key=value``: a command-line flag (``--password hunter2``,
  ``--user alice``: ``process.command_line`` and argv lists are full of them) or an XML/HTML element
  (``<password>hunter2</password>``). The name goes through the same key rules as any field, so whatever a
  key rule removes from a dict it also removes here, in every spelling the key rules fold;
* IBANs (ISO 13616): a known country's code, two check digits and exactly that country's length, then the
  mod-97 checksum (so hub ids, digests and build tags that happen to start with two letters and two digits
  are not taken);
* US social security numbers written ``AAA-GG-SSSS``, with the SSA's structure rules (no 000, 666 or 9xx
  area, no 00 group, no 0000 serial).

Example::

    counts = {}
    named_values("run --password hunter2 --lr 1e-4", counts, classify, hasher)
    # 'run --password <redacted> --lr 1e-4'; counts == {"key.password": 1}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from . import rules
from .hosts import is_public_host
from .keys import HASH

Counts = dict[str, int]
Classify = Callable[[str], str | None]
Hasher = Callable[[str], str]

#: ``-k value`` / ``--key value``: a flag at a token start, blanks, then a value that is not another flag.
_FLAG: Final = re.compile(
    r"-(?<![^\s\"'(\[,]-)(-?)([A-Za-z][\w.-]{0,62})[ \t]+"
    r"(\"[^\"\n]{0,4096}\"|'[^'\n]{0,4096}'|[^\s\"'<-][^\s\"']{0,4095})"
)
_ELEMENT: Final = re.compile(r"<([A-Za-z][\w.:-]{0,63})(?:\s[^<>]{0,256})?>([^<]{1,4096})</\1\s*>")
_LOCAL_HOSTS: Final = frozenset(("localhost", "0.0.0.0", "127.0.0.1", "::", "::1"))

# ISO 13616 lengths per country (the IBAN registry): "length:countries" groups.
_IBAN_LENGTHS: Final = {
    country: int(length)
    for group in [
        "15:NO",
        "16:BE",
        "18:DK,FI,FO,GL,NL,SD",
        "19:MK,SI",
        "20:AT,BA,EE,KZ,LT,LU,XK",
        "21:CH,CR,HR,LI,LV",
        "22:BG,BH,DE,GB,GE,IE,ME,RS,VA",
        "23:AE,IL,TL",
        "24:AD,CZ,ES,MD,PK,RO,SA,SE,SK,TN,VG",
        "25:PT,ST",
        "26:IS,TR",
        "27:FR,GR,IT,MC,MR,SM",
        "28:AL,AZ,BY,CY,DO,GT,HU,LB,PL,SV",
        "29:BR,EG,PS,QA,UA",
        "30:JO,KW,MU",
        "31:MT,SC",
        "32:LC",
        "33:RU",
    ]
    for length, countries in [group.split(":")]
    for country in countries.split(",")
}
#: Two letters (a country's code, checked by the handler), two digits, then pieces of letters and digits
#: (grouped by blanks or dashes, or one run). It opens with a character class and checks the token start
#: after it, so ``re`` skips ahead in C.
_IBAN: Final = re.compile(r"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]\d{2}(?:[ -]?[A-Za-z0-9]{1,30}){1,9}")
_SSN: Final = re.compile(r"\d(?<![\w-]\d)(\d{2})-(\d{2})-(\d{4})(?![\w-])")
_IBAN_MARKER: Final = rules.MARKERS[rules.VALUE_IBAN]
_ID_MARKER: Final = rules.MARKERS[rules.VALUE_NATIONAL_ID]


def _count(counts: Counts, rule: str) -> None:
    counts[rule] = counts.get(rule, 0) + 1


def _named(name: str, value: str, classify: Classify, hasher: Hasher, counts: Counts) -> str | None:
    """The replacement for a value named ``name``, or None to keep it."""
    body = value.strip("\"'")
    if not body or (body.startswith("<") and body.endswith(">")):
        return None  # a marker: already scrubbed
    decision = classify(name)
    if decision is None:
        return None
    if decision == rules.KEY_HOST and (body.lower() in _LOCAL_HOSTS or is_public_host(body)):
        return None
    if decision == HASH:
        _count(counts, rules.ID_HASHED)
        return hasher(body)
    _count(counts, decision)
    return rules.KEY_MARKER


def named_values(text: str, counts: Counts, classify: Classify, hasher: Hasher) -> str:
    """Values after command-line flags and inside XML elements whose name a key rule denies or hashes."""
    if "-" in text and (" -" in text or "\t-" in text or text[0] == "-" or "'-" in text or '"-' in text):

        def flag(m: re.Match[str]) -> str:
            dashes, name, value = "-" + m.group(1), m.group(2), m.group(3)
            # Short flags (-u, -p) mean different things to different tools (python -u is unbuffered):
            # only names that a key rule reads are judged.
            repl = _named(name, value, classify, hasher, counts)
            return m.group(0) if repl is None else f"{dashes}{name} {repl}"

        text = _FLAG.sub(flag, text)
    if "</" in text:

        def element(m: re.Match[str]) -> str:
            repl = _named(m.group(1).rsplit(":", 1)[-1], m.group(2), classify, hasher, counts)
            if repl is None:
                return m.group(0)
            return m.group(0)[: m.start(2) - m.start()] + repl + m.group(0)[m.end(2) - m.start() :]

        text = _ELEMENT.sub(element, text)
    return text


def _iban_ok(compact: str) -> bool:
    moved = (compact[4:] + compact[:4]).upper()
    try:
        return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1
    except ValueError:
        return False


def identity_numbers(text: str, counts: Counts) -> str:
    """IBANs become ``<iban>`` and US social security numbers ``<id-number>`` (see the module docstring)."""
    m = _IBAN.search(text) if len(text) >= 15 else None
    if m is not None:
        parts: list[str] = []
        emitted = 0
        while m is not None:
            end = _iban_end(m)
            if end is None:
                m = _IBAN.search(text, m.start() + 1)
                continue
            parts += [text[emitted : m.start()], _IBAN_MARKER]
            _count(counts, rules.VALUE_IBAN)
            emitted = end
            m = _IBAN.search(text, end)
        if parts:
            text = "".join([*parts, text[emitted:]])
    if len(text) >= 11 and "-" in text:

        def ssn(m: re.Match[str]) -> str:
            area, group, serial = m.group()[:3], m.group(2), m.group(3)
            if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
                return m.group(0)
            _count(counts, rules.VALUE_NATIONAL_ID)
            return _ID_MARKER

        text = _SSN.sub(ssn, text)
    return text


def _iban_end(m: re.Match[str]) -> int | None:
    """Where the IBAN in a candidate ends: its pieces, taken in order, add up to the country's length
    exactly (words after a grouped IBAN are not part of it); None when they never do or the check fails."""
    candidate = m.group()
    length = _IBAN_LENGTHS.get(candidate[:2].upper())
    if length is None:
        return None
    total = 0
    for piece in re.finditer(r"[A-Za-z0-9]+", candidate):
        total += len(piece.group())
        if total == length:
            compact = re.sub(r"[ -]", "", candidate[: piece.end()])
            return m.start() + piece.end() if _iban_ok(compact) else None
        if total > length:
            return None
    return None
