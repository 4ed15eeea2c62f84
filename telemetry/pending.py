"""A pending result that works in both worlds: ``await`` it in async code, call ``.result()`` in sync code.

``enable()``, ``disable()``, ``export_all()`` and ``delete_all()`` do their file work on the service's
background thread and return a :class:`Pending`. It *is* a :class:`concurrent.futures.Future` (so
``.result(timeout)``, ``.done()``, ``.exception()`` and ``add_done_callback`` behave as usual) that can
also be awaited from any running event loop without blocking it::

    await telemetry.get_telemetry().enable()          # async code
    telemetry.get_telemetry().enable().result(5)      # sync code, waits at most 5 s
    telemetry.get_telemetry().enable()                # fire and forget: takes effect at once

A failure nobody waits for is not silent: it is logged once (without the message, which may quote a path).
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

    def __await__(self) -> Generator[Any, None, T]:
        # wrap_future chains this future to one of the running loop: awaiting never blocks the loop.
        import asyncio  # only code that awaits needs it; `import telemetry` stays light

        return asyncio.wrap_future(self).__await__()


def pending_from(source: Future[T], what: str) -> Pending[T]:
    """The outcome of ``source`` as a :class:`Pending`; a failure is also logged once under ``what``."""
    pending: Pending[T] = Pending()

    def copy(done: Future[T]) -> None:
        if done.cancelled():
            pending.cancel()
            pending.set_running_or_notify_cancel()
            return
        error = done.exception()
        if error is not None:
            _logger.warning("telemetry: %s failed (%s)", what, type(error).__name__)
            pending.set_exception(error)
        else:
            pending.set_result(done.result())

    source.add_done_callback(copy)
    return pending


def completed(value: T) -> Pending[T]:
    """A :class:`Pending` that is already done."""
    pending: Pending[T] = Pending()
    pending.set_result(value)
    return pending
