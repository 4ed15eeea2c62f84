"""Log the first failure of each kind, count them all: a fault that repeats must not flood the host's log.

One habit, one helper. ``processors/`` and ``exporters/`` may not import each other, so each holds this same
small module (``tests/test_architecture.py`` checks that the two copies stay identical); ``analytics/`` and
``telemetry/`` use the one in ``exporters/``.
"""

from __future__ import annotations

import collections
import logging
import threading


class FailureLog:
    """Counts failures by kind; logs the first of each kind, and only counts the rest.

    Safe to call from any thread. Log only what cannot carry user data (a kind, an exception type): the
    message of a caught exception may quote the data that failed.

    Example::

        failures = FailureLog(logging.getLogger(__name__))
        failures.record("flush", "telemetry: %s failed; further failures are counted", "flush")  # logged
        failures.record("flush", "telemetry: %s failed; further failures are counted", "flush")  # counted
        failures.counts["flush"], failures.total  # (2, 2)
    """

    def __init__(self, logger: logging.Logger, level: int = logging.ERROR) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._logger = logger
        self._level = level
        self._lock = threading.Lock()

    def record(self, kind: str, message: str, *args: object) -> bool:
        """Count one failure of ``kind``; log ``message % args`` if it is the first. True when it was."""
        with self._lock:
            self.counts[kind] += 1
            first = self.counts[kind] == 1
        if first:
            self._logger.log(self._level, message, *args)
        return first

    @property
    def total(self) -> int:
        """Failures of every kind so far."""
        return sum(self.counts.values())
