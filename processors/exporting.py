"""The end of the span chain: spans collected per batch and handed to an exporter, retried when refused.

Sits behind :class:`processors.background.BackgroundSpanProcessor` (re-exported there), whose worker
calls ``force_flush`` once per drained batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from processors._failure_log import FailureLog

_logger = logging.getLogger("processors.background")


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
