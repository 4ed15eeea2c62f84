"""What the hub's span and metric-point ingest share: the request outcome, the install id, the id filter."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from exporters.lake import INSTALL_ATTRIBUTE

_INSTALL_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Ingested:
    """What became of one request (spans or points)."""

    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: set[str] = field(default_factory=set)

    def reject(self, count: int, reason: str) -> None:
        if count:
            self.rejected += count
            self.reasons.add(reason)


def take_install_id(attributes: Any) -> str | None:
    """Remove :data:`INSTALL_ATTRIBUTE` from a protobuf resource's attributes; its value if well-formed.

    >>> take_install_id(request.resource_spans[0].resource.attributes)
    '3f2a...'
    """
    found: str | None = None
    for index in reversed(range(len(attributes))):
        if attributes[index].key == INSTALL_ATTRIBUTE:
            value = attributes[index].value.string_value
            if _INSTALL_ID.match(value):
                found = value
            del attributes[index]
    return found


class SeenIds:
    """The last ``limit`` share ids this process stored (thread-safe): a retried batch is dropped here;
    readers deduplicate the rest (across hubs, restarts, or beyond the limit).

    >>> seen = SeenIds(1_000_000)
    >>> keep = seen.first_sightings(ids)  # indexes of rows not stored yet, each id once
    >>> seen.remember([ids[i] for i in keep])  # only once written: a failed write leaves retries welcome
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_sightings(self, share_ids: Sequence[str]) -> list[int]:
        keep: list[int] = []
        batch: set[str] = set()
        with self._lock:
            for index, share_id in enumerate(share_ids):
                if share_id not in self._ids and share_id not in batch:
                    batch.add(share_id)
                    keep.append(index)
        return keep

    def remember(self, share_ids: Sequence[str]) -> None:
        with self._lock:
            for share_id in share_ids:
                self._ids[share_id] = None
            while len(self._ids) > self._limit:
                self._ids.popitem(last=False)

    def clear(self) -> None:
        """Forget every id (benches replay the same spans; a hub never needs it)."""
        with self._lock:
            self._ids.clear()
