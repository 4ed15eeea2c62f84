"""Normalizing text before detection: one spelling for every way of writing the same characters.

Detectors are written for plain ASCII spellings. Everything here maps other spellings onto them:

* :func:`fold_text`: NFKC (fullwidth ``＠`` and digits become ``@`` and ASCII digits), then every format and
  control character goes (zero-width spaces and joiners, bidi controls, the NULs between the bytes of
  UTF-16 text decoded as UTF-8), except tab and line breaks.
* :func:`decoded_form`: repeated percent-decoding (bounded: at most :data:`MAX_DECODE_ROUNDS`), HTML
  entities, the ``[at]`` / ``(dot)`` spellings of e-mail addresses. The scanner searches this form when it
  differs from the folded one; when it holds a finding, the stored value is the scrubbed decoded form.
* :func:`base64_tokens`: tokens that look like base64 or hex and decode to readable text, with that text
  (``616c696365...`` is text written as hex; a sha256 is not text).
* :func:`fold_key`: the form keys are matched in: NFKC, confusables folded to the Latin letters they
  imitate (a TR39-style skeleton for the scripts seen in attacks: Cyrillic, Greek, fullwidth, and letters
  with diacritics reduced to their base letter), lowercase, separators removed. ``pаsswоrd`` with Cyrillic
  ``а`` and ``о`` folds to ``password``; ``contraseña`` to ``contrasena``; ``пароль`` stays Cyrillic
  (no Latin letter imitates its ``п``) and is matched as written.

Invariant: every function here is pure and bounded (linear in the input, a constant number of rounds).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from typing import Final
from urllib.parse import unquote

MAX_DECODE_ROUNDS: Final = 3

# Categories removed by fold_text: Cf (format: zero-width, bidi, BOM, soft hyphen) and Cc (controls).
_KEEP_CONTROLS: Final = frozenset("\t\n\r")
_INVISIBLE: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb]"
)
_PERCENT: Final = re.compile(r"%[0-9A-Fa-f]{2}")
_ENTITY: Final = re.compile(r"&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});")
# "alice [at] example [dot] com", "alice(at)example(dot)com", "alice AT example DOT com" (brackets or caps
# only: a bare " at " is ordinary English).
_AT: Final = re.compile(r"\s*(?:[\[({<]\s*(?:at|@)\s*[\])}>]|\s(?:AT|At)\s)\s*")
_DOT: Final = re.compile(r"\s*(?:[\[({<]\s*(?:dot|\.)\s*[\])}>]|\s(?:DOT|Dot)\s)\s*")
_BRACKET_DOT: Final = re.compile(r"\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*")
_BASE64: Final = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{12,}={0,2}(?![A-Za-z0-9+/=_-])")

# Latin letters that other scripts draw alike (the part of Unicode's confusables.txt an attacker uses to
# spell an English key word). Applied to keys only: in values, folding would change what is stored.
_CONFUSABLES: Final = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
        "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԝ": "w", "ь": "b", "ӏ": "l",
        "ё": "e", "ї": "i",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ԁ": "d",
        # Latin look-alikes
        "ı": "i", "ɑ": "a", "ℓ": "l", "ǀ": "l",
    }
)  # fmt: skip
_KEY_SEPARATORS: Final = re.compile(r"[\W_]+")
_KEY_WORD: Final = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^\W\d_A-Za-z]+")


def fold_text(text: str) -> str:
    """NFKC, then format and control characters removed (tab and line breaks stay)."""
    if text.isascii():
        if text.isprintable():
            return text
        return _INVISIBLE.sub("", text)
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def decoded_form(text: str) -> str:
    """Percent-decoded (repeatedly, bounded), HTML-unescaped, ``[at]``/``[dot]`` spelled out, folded again."""
    out = text
    for _ in range(MAX_DECODE_ROUNDS):
        if "%" not in out or _PERCENT.search(out) is None:
            break
        decoded = unquote(out, errors="replace")
        if decoded == out:
            break
        out = decoded
    if "&" in out and _ENTITY.search(out) is not None:
        out = html.unescape(out)
    brackets = "[" in out or "(" in out or "{" in out or "<" in out
    if (brackets or " AT " in out or " At " in out) and _AT.search(out) is not None:
        out = _DOT.sub(".", _AT.sub("@", out))
    elif brackets and _BRACKET_DOT.search(out) is not None:
        out = _BRACKET_DOT.sub(".", out)  # git [dot] corp [dot] internal: a host spelled out
    return fold_text(out) if out is not text else out


_HEX_TEXT: Final = re.compile(r"(?:0x)?(?:[0-9A-Fa-f]{2}){8,}")


def _hex_text(token: str) -> str | None:
    try:
        text = bytes.fromhex(token.removeprefix("0x")).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    text = fold_text(text)
    return text if len(text) >= 4 and sum(c.isprintable() for c in text) >= 0.9 * len(text) else None


def _readable(raw: bytes) -> str | None:
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        text = fold_text(text)
        if len(text) >= 4 and sum(c.isprintable() for c in text) >= 0.9 * len(text):
            return text
    return None


def base64_tokens(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, decoded text)`` for every base64-looking token that decodes to readable text."""
    found = []
    for m in _BASE64.finditer(text):
        token = m.group()
        if len(token) >= 16 and _HEX_TEXT.fullmatch(token) is not None:
            # Hex: digests and ids decode to random bytes, which are almost never valid UTF-8 (8 random
            # bytes are, with odds below one in a thousand) and never mostly printable; text written as hex
            # (616c696365...) comes back.
            decoded = _hex_text(token)
            if decoded is not None:
                found.append((m.start(), m.end(), decoded))
            continue
        if token.isalpha() or token.isdigit() or token.lower() == token or token.upper() == token:
            continue  # a word, a number, a snake_case name; base64 of text mixes upper and lower case
        body = token.rstrip("=")
        padded = body + "=" * (-len(body) % 4)
        try:
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            continue
        decoded = _readable(raw)
        if decoded is not None:
            found.append((m.start(), m.end(), decoded))
    return found


def strip_marks(text: str) -> str:
    """Diacritics removed: ``contraseña`` -> ``contrasena``, ``benutzer`` stays, ``пароль`` stays."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold_key(key: str) -> str:
    """The matching form of a key: see the module docstring. Letters of every script are kept."""
    return _KEY_SEPARATORS.sub("", _skeleton(key).casefold())


def _skeleton(key: str) -> str:
    folded = strip_marks(fold_text(key))
    return folded if folded.isascii() else folded.translate(_CONFUSABLES)


def fold_key_words(key: str) -> list[str]:
    """The words of a key in matching form (split at separators, camel case and script changes)."""
    words = []
    for piece in _KEY_SEPARATORS.split(_skeleton(key)):
        words += [w.casefold() for w in _KEY_WORD.findall(piece)]
    return words
