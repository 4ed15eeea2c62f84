"""Moving work off the caller's thread.

:class:`BackgroundSpanProcessor` is the hand-off between the application and everything expensive. Its
``on_end`` (and :meth:`BackgroundSpanProcessor.submit`, used by the ``track_*`` fast path) appends to a
bounded queue and returns; one worker thread drains the queue and runs the inner processor chain
(anonymizer, then :class:`BatchExportingProcessor`) on its own time. Under overload it drops and counts,
as the OpenTelemetry specification asks: the host app never blocks and memory never grows without bound.

Queue items are either finished ``ReadableSpan`` objects (from ordinary OTel instrumentation) or *pending
spans*: plain records with a ``materialize()`` method that the worker turns into a ``ReadableSpan``.
Recording plain data costs the caller about a microsecond where building an SDK span costs tens.

Batches are as large as the load allows: each wake-up takes what was queued by then (plus any full batch
that arrives meanwhile) and no more, so a steady stream of events becomes one transaction per wake-up
rather than a string of one- and two-span transactions chasing the queue's tail (a DuckDB commit costs
milliseconds).

When to write: when a full batch is waiting, when someone flushes, or ``schedule_delay_s`` after the first
item that arrived in an empty queue (the ceiling on how long an event waits in memory, hence what a
``kill -9`` can lose). With nothing queued and nothing to retry, the worker sleeps until an item arrives:
an idle app pays no wake-ups.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from processors._failure_log import FailureLog
from processors.exporting import BatchExportingProcessor

__all__ = ["BackgroundSpanProcessor", "BatchExportingProcessor", "Housekeeping", "PendingSpan"]

_logger = logging.getLogger(__name__)
#: Spans the worker processes between voluntary GIL hand-offs (see ``_process``).
_YIELD_EVERY = 32
_sleep = time.sleep


class PendingSpan(Protocol):
    """A span recorded as plain data on the caller's thread, built into a ``ReadableSpan`` later."""

    def materialize(self) -> ReadableSpan | None:
        """Return the finished span, or None when there is nothing to record. Runs on the worker."""
        ...


QueueItem = ReadableSpan | PendingSpan


class Housekeeping(Protocol):
    """Work the inner chain needs done at a time of its own, with no span arriving (merging a spool)."""

    def due_in(self) -> float | None:
        """Seconds until :meth:`run` is due (0: now); None when nothing is pending (sleep until a span)."""
        ...

    def run(self) -> None:
        """Do it; never raises (failures are the implementation's to count), and makes ``due_in`` later."""
        ...


class BackgroundSpanProcessor(SpanProcessor):
    """Bounded queue plus one worker thread in front of ``inner``.

    ``on_end`` and ``submit`` run on the application's thread: a length check and a deque append
    (both atomic under the GIL), no locks, no I/O, never raise. The worker wakes ``schedule_delay_s``
    after the first item of a quiet spell, or as soon as a full batch is waiting, feeds each span to
    ``inner.on_end`` and then calls ``inner.force_flush`` once per batch so a batching exporter writes
    one transaction.
    """

    def __init__(
        self,
        inner: SpanProcessor,
        *,
        max_queue_size: int = 65_536,
        max_batch_size: int = 4_096,
        schedule_delay_s: float = 0.5,
        on_drop: Callable[[int], None] | None = None,
        housekeeping: Housekeeping | None = None,
    ) -> None:
        if max_queue_size < 1 or max_batch_size < 1 or not 0 < schedule_delay_s <= 60:
            raise ValueError("max_queue_size and max_batch_size must be >= 1, schedule_delay_s in (0, 60]")
        self._inner = inner
        self._max_queue_size = max_queue_size
        self._max_batch_size = min(max_batch_size, max_queue_size)
        self._schedule_delay_s = schedule_delay_s
        self._on_drop = on_drop
        self._housekeeping = housekeeping
        # Only the kind is logged: an exception's message could carry user data.
        self._failures = FailureLog(_logger)
        self.dropped_queue_full = 0
        self.processed = 0
        self._shutdown = False
        self._init_worker()
        if hasattr(os, "register_at_fork"):
            # A forked child has the queue but not the thread: give it fresh ones of its own. Held weakly
            # (as the OTel SDK's processors do): the hook must not keep a dropped processor alive.
            reinit = weakref.WeakMethod(self._after_fork_in_child)
            os.register_at_fork(after_in_child=lambda: _call_if_alive(reinit))

    def _init_worker(self) -> None:
        self._queue: collections.deque[QueueItem] = collections.deque()
        self._wake = threading.Event()  # a full batch, a flush or shutdown: write now
        self._work = threading.Event()  # the first item after a quiet spell: write within the delay
        self._idle = False  # the worker sleeps until ``_work``; read by ``submit`` without a lock
        self._retry = False  # the inner chain holds a batch it could not write: wake up to retry
        self._flush_waiters: list[threading.Event] = []
        self._waiters_lock = threading.Lock()
        self._worker = threading.Thread(target=self._run, name="peft-telemetry-export", daemon=True)
        self._worker.start()

    def _after_fork_in_child(self) -> None:
        if self._shutdown:
            # Shut down in the parent: stays shut down in the child (no worker, submissions dropped).
            self._queue = collections.deque()
            return
        self._init_worker()

    # -- the caller's side ---------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        self.submit(span)

    def submit(self, item: QueueItem) -> None:
        """Queue a finished or pending span; drop and count when the queue is full. Never blocks."""
        queue = self._queue
        if len(queue) >= self._max_queue_size or self._shutdown:
            self.dropped_queue_full += 1
            if self.dropped_queue_full == 1:  # logged once; stats() counts every one
                _logger.warning("telemetry: the span queue is full or closed; spans are dropped and counted")
            if self._on_drop is not None:
                self._on_drop(1)
            return
        queue.append(item)
        if self._idle:
            # Read after the append: a worker that checked the queue before it went idle has set the
            # flag first (the GIL orders the two), so either it saw this item or we see the flag.
            self._idle = False
            self._work.set()
        # ">=" and not "==": a crossing the worker consumed must not hide the next full batch. is_set()
        # is an attribute read; set() takes a lock, so it is only paid once per wake-up.
        if len(queue) >= self._max_batch_size and not self._wake.is_set():
            self._wake.set()

    def discard_pending(self) -> int:
        """Forget everything queued and not yet processed (used when the user erases their data)."""
        discarded = 0
        while True:
            try:
                self._queue.popleft()
            except IndexError:
                return discarded
            discarded += 1

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def failures(self) -> collections.Counter[str]:
        return self._failures.counts

    def _failure(self, kind: str) -> None:
        self._failures.record(kind, "telemetry: %s failed; counting further failures silently", kind)

    # -- the worker's side ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if not self._sleep_until_work():
                self._housekeep()
                continue
            self._wake.wait(self._schedule_delay_s)
            self._wake.clear()
            self._drain()
            if self._shutdown:
                self._drain()
                self._release_flush_waiters()
                return

    def _sleep_until_work(self) -> bool:
        """Block while there is nothing to write and nothing to retry: without a timeout, or until the
        housekeeping is due (then False)."""
        self._idle = True
        if self._queue or self._retry or self._shutdown or self._wake.is_set():
            self._idle = False
        else:
            woke = self._work.wait(self._housekeeping_due())
            self._idle = False
            if not woke:
                return False  # an item submitted meanwhile set ``_work``: the next call sees it
        self._work.clear()
        return True

    def _housekeeping_due(self) -> float | None:
        try:
            return self._housekeeping.due_in() if self._housekeeping is not None else None
        except Exception:
            self._failure("housekeeping")
            return None

    def _housekeep(self) -> None:
        try:
            if self._housekeeping is not None:
                self._housekeeping.run()
        except Exception:
            self._failure("housekeeping")

    def _drain(self) -> None:
        """Process what was queued when the worker woke up, in batches, then release flush waiters.

        New items that arrive meanwhile wait for the next wake-up (the schedule delay, a full batch, or
        a flush), unless a full batch of them is waiting already: chasing the tail would commit one tiny
        transaction after another under a steady stream.
        """
        queue = self._queue
        max_batch = self._max_batch_size
        with self._waiters_lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        due = len(queue)  # read after taking the waiters: everything they wait for is counted
        processed_any = False
        while True:
            available = len(queue)
            size = min(available, max_batch)
            if size == 0 or (due <= 0 and available < max_batch):
                break
            batch: list[QueueItem] = []
            try:
                for _ in range(size):
                    batch.append(queue.popleft())
            except IndexError:  # discard_pending() emptied the queue meanwhile
                if not batch:
                    break
            due -= size
            self._process(batch)
            self._flush_inner()  # one transaction per batch
            processed_any = True
        if not processed_any:
            # Nothing new, but the chain may hold a batch the exporter refused earlier: retry it now.
            self._flush_inner()
        for waiter in waiters:
            waiter.set()

    def _process(self, batch: Sequence[QueueItem]) -> None:
        inner = self._inner
        for i, item in enumerate(batch):
            if not i % _YIELD_EVERY:
                # Hand the GIL to the host's threads now and then: otherwise a thread of the app that
                # wakes up (an event loop after I/O) waits up to the 5 ms switch interval for it, every
                # time (figures in bench/README.md).
                _sleep(0)
            try:
                span = item if isinstance(item, ReadableSpan) else item.materialize()
                if span is not None:
                    inner.on_end(span)
            except Exception:
                self._failure("processing a span")
        self.processed += len(batch)

    def _flush_inner(self) -> None:
        try:
            self._retry = not self._inner.force_flush()
        except Exception:
            self._retry = True
            self._failure("flushing a batch")

    def _release_flush_waiters(self) -> None:
        with self._waiters_lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            waiter.set()

    # -- lifecycle -----------------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Wait until everything queued before this call has been through the inner chain."""
        if self._shutdown or not self._worker.is_alive():
            return False
        done = threading.Event()
        with self._waiters_lock:
            self._flush_waiters.append(done)
        self._wake.set()
        self._work.set()
        return done.wait(timeout_millis / 1000)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Drain, then shut the inner chain down; gives up after the timeout (the thread is a daemon)."""
        if self._shutdown:
            return
        self._shutdown = True
        self._wake.set()
        self._work.set()
        self._worker.join(timeout_millis / 1000)
        if self._worker.is_alive():
            _logger.warning("telemetry: export did not finish within %.1f s; exiting anyway", timeout_millis / 1000)
            return
        try:
            self._inner.shutdown()
        except Exception:
            self._failure("shutting down")


def _call_if_alive(method: weakref.WeakMethod[Callable[[], None]]) -> None:
    bound = method()
    if bound is not None:
        bound()
