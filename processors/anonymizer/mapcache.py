"""Remembering what whole attribute maps became, for the spans that repeat.

Real applications send the same event with the same properties again and again (``training_step`` with
the same model name, algorithm and flags). The walker already remembers what each short string became;
this remembers a whole map, so a repeated span's attributes cost one ``orjson.dumps`` and one lookup
instead of a rule decision per key.

Why the cache key is exact. A map is cached only when every key is exactly ``str`` and every value exactly
``str``, ``bool``, ``int`` or ``float`` (no subclasses, sequences or mappings: their scrubbing depends on
more than their JSON text). For such maps the orjson text is a faithful fingerprint: strings are quoted,
booleans are ``true``/``false``, integers have no ``.`` or exponent, floats always do and are written in
shortest round-trip form (``-0.0`` differs from ``0.0``), and key order is kept. The one collision,
non-finite floats all written as ``null``, is excluded by refusing any text that contains ``null``.
Integers beyond 64 bits and lone surrogates make orjson raise: those maps are not cached either.

What is never cached: results that hashed an identifier (the secret can rotate, and ``delete_all``
rotates it), and fingerprints longer than ``_MAX_KEY_BYTES`` (memory stays bounded: at most
``_LIMIT`` entries of bounded size). When most lookups miss (a counter or a loss in every span), the
cache switches itself off for a while, so a workload without repeats pays almost nothing for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from processors._bounded_cache import BoundedCache

from . import rules
from .detectors import Counts

_LIMIT: Final = 512
_MAX_KEY_BYTES: Final = 4096
_KEY_TYPES: Final = frozenset({str})
_VALUE_TYPES: Final = frozenset({str, bool, int, float})
# Adaptive bypass: judged over a window of lookups; below the hit rate, skip the cache for a while.
_WINDOW: Final = 256
_MIN_HITS: Final = _WINDOW // 4
_BYPASS: Final = 4096

Entry = tuple[dict[str, Any], tuple[tuple[str, int], ...]]


def fingerprint(attrs: Mapping[str, Any]) -> bytes | None:
    """The exact cache key of ``attrs``, or None when the map cannot be cached (see the module docstring)."""
    if not _KEY_TYPES.issuperset(map(type, attrs)) or not _VALUE_TYPES.issuperset(map(type, attrs.values())):
        return None
    try:
        key = orjson.dumps(attrs)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if len(key) > _MAX_KEY_BYTES or b"null" in key:
        return None
    return key


class MapCache:
    """What ``compute(attrs, counts)`` returned for maps seen before, with the rule counts it added.

    Safe from several threads: entries are only ever added whole or cleared, under the GIL; the hit
    counters are approximate by design.
    """

    def __init__(self) -> None:
        self._entries: BoundedCache[bytes, Entry] = BoundedCache(_LIMIT)
        self._lock = threading.Lock()
        self._lookups = 0
        self._hits = 0
        self._bypass = 0
        self.hits_total = 0  # read by tests and benchmarks
        self.misses_total = 0

    def scrub(
        self, attrs: Mapping[str, Any], counts: Counts, compute: Callable[[Mapping[str, Any], Counts], dict[str, Any]]
    ) -> dict[str, Any]:
        """``compute(attrs, counts)``, from the cache when the same map was scrubbed before. Returns a new
        dict the caller may change."""
        if self._bypass:
            self._bypass -= 1
            return compute(attrs, counts)
        key = fingerprint(attrs)
        if key is None:
            return compute(attrs, counts)
        hit = self._entries.get(key)
        self._lookups += 1
        if hit is not None:
            self._hits += 1
            self.hits_total += 1
            for rule, n in hit[1]:
                counts[rule] = counts.get(rule, 0) + n
            out = hit[0].copy()
        else:
            self.misses_total += 1
            local: Counts = {}
            out = compute(attrs, local)
            for rule, n in local.items():
                counts[rule] = counts.get(rule, 0) + n
            if rules.ID_HASHED not in local:  # hashes change when the secret rotates
                with self._lock:
                    self._entries.put(key, (out.copy(), tuple(local.items())))
        if self._lookups >= _WINDOW:
            if self._hits < _MIN_HITS:
                self._bypass = _BYPASS
            self._lookups = self._hits = 0
        return out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._lookups = self._hits = self._bypass = 0
