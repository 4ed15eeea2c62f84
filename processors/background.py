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
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from processors._failure_log import FailureLog

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
    ) -> None:
        if max_queue_size < 1 or max_batch_size < 1 or not 0 < schedule_delay_s <= 60:
            raise ValueError("max_queue_size and max_batch_size must be >= 1, schedule_delay_s in (0, 60]")
        self._inner = inner
        self._max_queue_size = max_queue_size
        self._max_batch_size = min(max_batch_size, max_queue_size)
        self._schedule_delay_s = schedule_delay_s
        self._on_drop = on_drop
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
            self._sleep_until_work()
            self._wake.wait(self._schedule_delay_s)
            self._wake.clear()
            self._drain()
            if self._shutdown:
                self._drain()
                self._release_flush_waiters()
                return

    def _sleep_until_work(self) -> None:
        """Block, without a timeout, while there is nothing to write and nothing to retry."""
        self._idle = True
        if self._queue or self._retry or self._shutdown or self._wake.is_set():
            self._idle = False
        else:
            self._work.wait()
            self._idle = False
        self._work.clear()

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


class BatchExportingProcessor(SpanProcessor):
    """Collects spans and hands them to ``exporter`` on every ``force_flush``, at most
    ``max_export_batch`` spans per export call.

    Meant to sit at the end of the chain behind :class:`BackgroundSpanProcessor`, which calls
    ``force_flush`` once per drained batch from its worker thread. A batch the exporter refuses (the
    database locked by another process for longer than its timeout, a full disk) is kept and retried
    with the next one, up to ``max_retained`` spans; beyond that the oldest are dropped and counted.
    Retries go out in bounded slices, so a backlog never becomes one transaction too big to commit.
    What is still held at shutdown is counted as dropped and logged.

    ``withdrawn_at_ns`` is asked once per non-empty batch, after the batch was taken (so every span in it
    started before the question): when consent was withdrawn, or None while it holds. Spans that started
    at or after that instant are counted in ``dropped_after_withdrawal`` and never stored: an opt-out in
    another process sharing the file stops what is stored at once, not at this process's next poll.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_retained: int = 65_536,
        max_export_batch: int = 2_048,
        withdrawn_at_ns: Callable[[], int | None] | None = None,  # see the class docstring
    ) -> None:
        self._exporter = exporter
        self._withdrawn_at_ns = withdrawn_at_ns
        self.dropped_after_withdrawal = 0
        self._max_retained = max_retained
        self._max_export_batch = max_export_batch
        self._pending: list[ReadableSpan] = []
        self._lock = threading.Lock()  # guards _pending only: on_end never waits for an export
        self._export_lock = threading.Lock()  # one export at a time, in order
        self.exported = 0
        self.dropped_export_failed = 0
        self.failed_exports = 0
        self._overflow = FailureLog(_logger)

    @property
    def pending(self) -> int:
        """Spans held for a retry: not written yet, not lost yet."""
        return len(self._pending)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self._pending.append(span)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export everything held; True when all of it was written."""
        with self._export_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch and self._withdrawn_at_ns is not None:
                batch = self._without_withdrawn(batch)
            for start in range(0, len(batch), self._max_export_batch):
                piece = batch[start : start + self._max_export_batch]
                if self._export(piece):
                    self.exported += len(piece)
                    continue
                self.failed_exports += 1
                self._retain(batch[start:])
                return False
            return True

    def _without_withdrawn(self, batch: list[ReadableSpan]) -> list[ReadableSpan]:
        try:  # the spans that started before consent was withdrawn (all of them while it holds)
            cutoff = self._withdrawn_at_ns() if self._withdrawn_at_ns is not None else None
        except Exception:
            _logger.error("telemetry: reading consent before a write failed; the batch is written as it is")
            return batch
        if cutoff is None:
            return batch
        kept = [span for span in batch if (span.start_time or 0) < cutoff]
        self.dropped_after_withdrawal += len(batch) - len(kept)
        return kept

    def _export(self, spans: list[ReadableSpan]) -> bool:
        try:
            return self._exporter.export(spans) is SpanExportResult.SUCCESS
        except Exception:
            _logger.error("telemetry: span exporter raised; the batch is kept for a retry")
            return False

    def _retain(self, refused: list[ReadableSpan]) -> None:
        with self._lock:
            # The refused spans go first, ahead of spans that arrived during the export.
            refused.extend(self._pending)
            overflow = len(refused) - self._max_retained
            if overflow > 0:
                self.dropped_export_failed += overflow
                refused = refused[overflow:]
            self._pending = refused
        if overflow > 0:
            self._overflow.record(
                "overflow",
                "telemetry: the event log refused writes for so long that more than %d spans waited; the "
                "oldest are being dropped and counted (stats().dropped_export_failed). The exporter's error "
                "says why (a full disk: free space where the event log is stored)",
                self._max_retained,
            )

    def shutdown(self) -> None:
        self.force_flush()
        with self._lock:
            lost, self._pending = len(self._pending), []
            self.dropped_export_failed += lost
        if lost:
            _logger.error(
                "telemetry: %d spans could not be written to the event log before shutdown and are lost "
                "(the exporter's error was logged when writing first failed)",
                lost,
            )
        self._exporter.shutdown()
