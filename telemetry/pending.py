"""A pending result that works in both worlds: ``await`` it in async code, call ``.result()`` in sync code.

``enable()``, ``disable()``, ``export_all()`` and ``delete_all()`` do their file work on the service's
background thread and return a :class:`Pending`. It *is* a :class:`concurrent.futures.Future` (so
``.result(timeout)``, ``.done()``, ``.exception()`` and ``add_done_callback`` behave as usual) that can
also be awaited from any running event loop without blocking it::

    await telemetry.get_telemetry().enable()          # async code
    telemetry.get_telemetry().enable().result(5)      # sync code, waits at most 5 s
    telemetry.get_telemetry().enable()                # fire and forget: takes effect at once

A failure nobody looks at is not silent: if a :class:`Pending` that failed is garbage-collected without
anyone having awaited it or called ``.result()``/``.exception()``, the failure is logged (its type only:
the message may quote a path).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_logger = logging.getLogger(__name__)


class Pending(Future[T]):
    """A :class:`concurrent.futures.Future` that is also awaitable.

    >>> summary = await service.export_all("telemetry.jsonl")   # async
    >>> summary = service.export_all("telemetry.jsonl").result(30)   # sync
    """

    def __init__(self, what: str = "operation") -> None:
        super().__init__()
        self._what = what
        self._retrieved = False

    def __await__(self) -> Generator[Any, None, T]:
        # wrap_future chains this future to one of the running loop: awaiting never blocks the loop.
        import asyncio  # only code that awaits needs it; `import telemetry` stays light

        return asyncio.wrap_future(self).__await__()

    def result(self, timeout: float | None = None) -> T:
        self._retrieved = True
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._retrieved = True
        return super().exception(timeout)

    def __del__(self) -> None:
        try:
            if not self._retrieved and self.done() and not self.cancelled():
                error = super().exception(0)
                if error is not None:
                    _logger.warning("telemetry: %s failed (%s); nobody waited for it", self._what, type(error).__name__)
        except Exception:
            pass  # never raise from a finalizer


def pending_from(source: Future[T], what: str) -> Pending[T]:
    """The outcome of ``source`` as a :class:`Pending`; ``what`` names it if its failure goes unseen."""
    pending: Pending[T] = Pending(what)

    def copy(done: Future[T]) -> None:
        if done.cancelled():
            pending.cancel()
            pending.set_running_or_notify_cancel()
            return
        error = done.exception()
        if error is not None:
            pending.set_exception(error)
        else:
            pending.set_result(done.result())

    source.add_done_callback(copy)
    return pending
