"""One daemon thread for the service's own slow work: consent writes, erasure, export.

``concurrent.futures.ThreadPoolExecutor`` joins its threads at interpreter exit, so a hung disk would
hang the host app's exit; a daemon thread cannot. Jobs run in order, which also orders a consent change
before the erase that follows it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_logger = logging.getLogger(__name__)


class SerialExecutor:
    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._closed = False

    def submit(self, job: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        if self._closed:
            future.set_exception(RuntimeError("telemetry has been shut down"))
            return future
        self._jobs.put((job, future))
        return future

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    def shutdown(self, timeout_s: float) -> bool:
        """Let queued jobs finish for at most ``timeout_s``; True if they did."""
        if self._closed:
            return True
        self._closed = True
        self._jobs.put(None)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()
