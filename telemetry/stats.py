"""What the service reports about itself: pipeline counters, and a result that may also be awaited."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class PipelineStats(BaseModel):
    """Counters that show what the pipeline did and, above all, what it dropped and why."""

    model_config = ConfigDict(defer_build=True)  # built when first used, not on the consent-off import path

    queued: int
    processed: int
    exported: int
    dropped_queue_full: int
    dropped_anonymizer_failed: int
    dropped_export_failed: int
    dropped_without_consent: int
    failed_exports: int
    internal_errors: dict[str, int]
    #: Metric points (histograms, resource gauges, OTLP metrics) the event log refused: not written, lost.
    dropped_metric_points_export_failed: int = 0


class Completed:
    """A finished result that may also be awaited, so ``await telemetry.shutdown()`` (the spec's form)
    and plain ``telemetry.shutdown()`` both work."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def result(self, timeout: float | None = None) -> bool:
        """The outcome, like :meth:`telemetry.Pending.result` (already known: never waits)."""
        return self.value

    def __await__(self) -> Any:
        if False:  # pragma: no cover - makes this a generator without suspending
            yield None
        return self.value
