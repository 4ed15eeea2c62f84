"""The periodic metric reader's exports, held and written together a few times an hour.

Each write to the event log costs a DuckDB transaction, and when the app is otherwise idle also an open
and a close of the file (tens of milliseconds of CPU). Resource gauges and histograms are collected every
``metrics_interval_s``; writing each collection at once made an idle app with consent on reopen the file
every interval. Held here, they are written in one transaction every ``hold_s`` seconds, on ``flush()``
and at shutdown. What a ``kill -9`` can lose of them is therefore the last ``hold_s`` seconds of samples;
the span that carries each ``track_performance`` value is written on the span schedule regardless.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData


class HeldMetricExporter(MetricExporter):
    """Holds exports for ``inner`` and hands them over merged, at most ``hold_s`` after the first."""

    def __init__(self, inner: MetricExporter, hold_s: float) -> None:
        super().__init__(
            preferred_temporality=inner._preferred_temporality,
            preferred_aggregation=inner._preferred_aggregation,
        )
        self._inner = inner
        self._hold_s = hold_s
        self._held: list[MetricsData] = []
        self._first_held_at = 0.0
        self._lock = threading.Lock()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        with self._lock:
            if not self._held:
                self._first_held_at = time.monotonic()
            self._held.append(metrics_data)
            due = time.monotonic() - self._first_held_at >= self._hold_s
        return self._write(timeout_millis) if due else MetricExportResult.SUCCESS

    def _write(self, timeout_millis: float) -> MetricExportResult:
        with self._lock:
            held, self._held = self._held, []
        if not held:
            return MetricExportResult.SUCCESS
        merged = MetricsData(resource_metrics=[rm for data in held for rm in data.resource_metrics])
        return self._inner.export(merged, timeout_millis=timeout_millis)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        written = self._write(timeout_millis) is MetricExportResult.SUCCESS
        return self._inner.force_flush(timeout_millis) and written

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._write(timeout_millis)
        self._inner.shutdown(timeout_millis=timeout_millis)
