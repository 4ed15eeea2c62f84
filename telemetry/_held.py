"""``track_*`` calls made between ``enable()`` and the pipeline being ready, held and replayed in order."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

_logger = logging.getLogger(__name__)


class Recording(Protocol):
    """What the service hands ``track_*`` calls to: the pipeline's recorder, or :class:`HeldCalls`."""

    def event(self, event_type: str, properties: Mapping[str, Any] | None) -> None: ...
    def error(self, exc: BaseException, context: Mapping[str, Any] | None) -> None: ...
    def reported_error(self, error_type: str, message: str, stack: str, context: Mapping[str, Any] | None) -> None: ...
    def performance(self, metric_name: str, value: float, unit: str) -> None: ...


class HeldCalls:
    """``track_*`` calls made after consent was given and before the pipeline is ready: held, bounded,
    with their time and parent, and replayed into the pipeline in order once it is built."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._calls: collections.deque[tuple[str, tuple[Any, ...], int, Any]] = collections.deque()
        self._lock = threading.Lock()
        self._target: Any = None
        self.dropped = 0

    def _hold(self, kind: str, args: tuple[Any, ...]) -> None:
        from telemetry._parent import current_parent

        when, parent = time.time_ns(), current_parent()
        with self._lock:
            target = self._target
            if target is None:
                if len(self._calls) >= self._limit:
                    self.dropped += 1
                    if self.dropped == 1:  # logged once; stats() counts every one
                        _logger.warning("telemetry: too many calls before the pipeline was ready; dropped and counted")
                    return
                self._calls.append((kind, args, when, parent))
                return
        getattr(target, kind)(*args, when, parent)  # the pipeline came up meanwhile

    def event(self, event_type: str, properties: Mapping[str, Any] | None) -> None:
        self._hold("event", (event_type, dict(properties) if properties else None))

    def error(self, exc: BaseException, context: Mapping[str, Any] | None) -> None:
        self._hold("error", (exc, dict(context) if context else None))

    def reported_error(self, error_type: str, message: str, stack: str, context: Mapping[str, Any] | None) -> None:
        self._hold("reported_error", (error_type, message, stack, dict(context) if context else None))

    def performance(self, metric_name: str, value: float, unit: str) -> None:
        self._hold("performance", (metric_name, value, unit))

    def replay_into(self, target: Any, on_error: Callable[[str], None]) -> None:
        with self._lock:
            self._target = target
            calls, self._calls = self._calls, collections.deque()
            for kind, args, when, parent in calls:
                try:
                    getattr(target, kind)(*args, when, parent)
                except Exception:
                    on_error(f"track_{kind}")
