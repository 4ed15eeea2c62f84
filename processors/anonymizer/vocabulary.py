"""The vocabulary free text may keep: English words, ML/Python/CUDA words, and what is built from them.

Sources, shipped in ``data/``:

* ``english.txt.gz``: the lowercase entries of SCOWL's American English word list (Debian ``wamerican``),
  2 to 16 letters. Lowercase entries only: the list spells proper names (people, places) capitalized, so
  none of those is in it unless it is also an ordinary word.
* ``surname_words.txt.gz``: the ordinary words of that list that are also spelled capitalized there as a
  name (``baker``, ``brown``, ``grant``). Capitalized inside a sentence, such a word is taken as a name.
* ``ml_vocabulary.txt``: words of ML tooling that a dictionary lacks (``lora``, ``bfloat16``, ``nccl``).
* the running interpreter's own names: standard-library module names and the public names of ``builtins``
  and ``sys`` (``excepthook``, ``getpid``, ``asyncio``): code identifiers, which name no person.

:meth:`Vocabulary.known_word` also accepts a compound of two known words (``tinyllama``, ``starcoder``).
Loaded once per process, on first use (nothing is read while telemetry is off).
"""

from __future__ import annotations

import builtins
import gzip
import re
import sys
import threading
from functools import lru_cache
from importlib import resources
from typing import Final

_MIN_COMPOUND_PART: Final = 3
_SUFFIXES: Final = ("s", "es", "ed", "ing", "er")
_PREFIXES: Final = ("un", "de", "re", "non", "pre", "sub", "multi", "auto")


class Vocabulary:
    """Word sets and the membership tests the free-text policy uses. Thread-safe (read-only after load)."""

    def __init__(self, english: frozenset[str], surnames: frozenset[str], ml: frozenset[str]) -> None:
        self.english = english
        self.surnames = surnames
        self.ml = ml
        self._known = english | ml

    def known_word(self, word: str) -> bool:
        """A lowercase alphabetic word that is in the vocabulary, or two vocabulary words glued together."""
        known = self._known
        if word in known:
            return True
        # A plural or verb form of a known word (tokenizers, adapters, quantized), or a negated one (unscale).
        if any(word.endswith(suffix) and word[: -len(suffix)] in known for suffix in _SUFFIXES):
            return True
        if any(
            word.startswith(prefix) and len(word) - len(prefix) >= 4 and self.known_word(word[len(prefix) :])
            for prefix in _PREFIXES
        ):
            return True
        n = len(word)
        if n < 2 * _MIN_COMPOUND_PART or n > 32:
            return False
        return any(
            word[:cut] in known and word[cut:] in known for cut in range(_MIN_COMPOUND_PART, n - _MIN_COMPOUND_PART + 1)
        )


def _read_gz(name: str) -> frozenset[str]:
    with resources.files(__package__).joinpath("data", name).open("rb") as raw, gzip.open(raw, "rt") as f:
        return frozenset(line.strip() for line in f if line.strip())


def _read_words(name: str) -> frozenset[str]:
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    words: set[str] = set()
    for line in text.splitlines():
        if not line.startswith("#"):
            words.update(w.lower() for w in line.replace("_", " ").split())
    return frozenset(words)


def _python_names() -> frozenset[str]:
    names: set[str] = set(sys.stdlib_module_names)
    names.update(n for n in dir(builtins) if not n.startswith("_"))
    names.update(n for n in dir(sys) if not n.startswith("_"))
    words: set[str] = set()
    for name in names:
        words.update(w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 3 and w.isalpha())
    return frozenset(words)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (loaded on first call, then shared)."""
    with _lock:
        return Vocabulary(
            _read_gz("english.txt.gz"),
            _read_gz("surname_words.txt.gz"),
            _read_words("ml_vocabulary.txt") | _python_names(),
        )
