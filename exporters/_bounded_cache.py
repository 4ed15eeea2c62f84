"""One small bounded cache: "clear when full", written once.

``processors/`` and ``exporters/`` may not import each other, so each holds this same small module
(``tests/test_architecture.py`` checks that the two copies stay identical); ``analytics/`` and ``telemetry/``
use the one in ``exporters/``.

A plain dict that forgets everything when it reaches its limit. Clearing is O(1) amortized and needs no
bookkeeping per hit, which is what the hot path wants: hits are a single ``dict.get``. Invariant: at most
``limit`` entries, so memory stays bounded whatever strings callers send. Safe from several threads under
the GIL: entries are added whole; a clear racing an insert loses at most that entry.

Example::

    cache: BoundedCache[str, int] = BoundedCache(1024)
    cache.put("k", 1)
    cache.get("k")  # 1
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V], Generic[K, V]):
    """A ``dict`` with :meth:`put`, which clears the whole cache first when it is full."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        """Store ``value`` under ``key`` (clearing first when full) and return it."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
