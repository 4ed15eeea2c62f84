"""The user's control over recorded data: flush, export, erase, analytics and counters.

A mixin of :class:`~telemetry.service.TelemetryService`, so these stay its methods (the public API does
not change) while the service module keeps consent, identity and the ``track_*`` hot path. Everything
here runs on the caller's thread only to submit work: the I/O happens on the service's serial I/O thread,
after any pipeline build queued there before it, and hands back a :class:`~telemetry.pending.Pending`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from telemetry.pending import Pending, pending_from
from telemetry.stats import PipelineStats

if TYPE_CHECKING:
    from analytics import Analytics
    from exporters._failure_log import FailureLog
    from exporters.eventlog import EventLog
    from exporters.otlp_json import ExportSummary
    from telemetry._background_io import SerialExecutor
    from telemetry._held import HeldCalls
    from telemetry.consent import ConsentStore
    from telemetry.pipeline import Pipeline
    from telemetry.settings import TelemetrySettings


class DataControl:
    """Flush, export_all, delete_all, analytics and stats of :class:`~telemetry.service.TelemetryService`."""

    if TYPE_CHECKING:  # provided by TelemetryService
        settings: TelemetrySettings
        consent: ConsentStore
        _built: Pipeline | None
        _held: HeldCalls
        _io: SerialExecutor | None
        _internal_errors: FailureLog
        _losses_at_flush: int

        def _pipeline(self) -> Pipeline: ...
        def _executor(self) -> SerialExecutor: ...
        def _follow_sharing(self, event: str) -> None: ...
        @property
        def event_log(self) -> EventLog: ...

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Write everything recorded so far (spans and metrics). Blocks: for tests, CLIs and shutdown.

        False when something was not written: spans still waiting for a retry, or lost since the last flush
        (a full queue, the anonymizer failing closed, a write refused: each counted in :meth:`stats`)."""
        deadline = time.monotonic() + timeout_s
        done = self._wait_for_io(deadline)  # a pipeline being built after enable() comes up first
        built = self._built
        if built is not None:
            done = built.flush(deadline) and done
            done = self._wait_for_io(deadline) and done
        losses = self._losses()
        lost_since, self._losses_at_flush = losses - self._losses_at_flush, losses
        return done and not lost_since

    def _losses(self) -> int:
        """Spans lost in this run, every way :meth:`stats` counts (consent withdrawn is not a loss)."""
        stats = self.stats()
        return stats.dropped_queue_full + stats.dropped_anonymizer_failed + stats.dropped_export_failed

    def _wait_for_io(self, deadline: float) -> bool:
        if self._io is None:
            return True
        try:
            self._io.submit(lambda: None).result(max(0.0, deadline - time.monotonic()))
        except Exception:
            return False
        return True

    def export_all(
        self, path: str | os.PathLike[str] | None = None, *, start_ns: int | None = None, end_ns: int | None = None
    ) -> Pending[ExportSummary]:
        """Write everything recorded as OTLP JSON Lines to ``path`` (default: ``<home>/exports/``).

        A folder the caller names must exist; only the default exports folder is created (0700).

        >>> summary = await service.export_all("telemetry.jsonl")  # or .result(30) in sync code
        """
        from telemetry._export_names import default_export_path

        own_folder = path is None
        target = Path(path) if path is not None else default_export_path(self.settings.home / "exports")
        job = self._executor().submit(lambda: self._pipeline().export(target, start_ns, end_ns, own_folder))
        return pending_from(job, "export")

    def delete_all(self) -> Pending[None]:
        """Erase every recorded byte, rotate the anonymous identity, and keep the user's consent choice.

        Queued events are discarded first; the database is then rebuilt from nothing (deleting rows is
        not erasing). If consent is on, the fresh log starts with a ledger entry so it can still prove
        what the user agreed to.

        Order, for a process killed part way: the hub's deletion is queued (on disk, retried until the hub
        confirms) before anything local is erased, and the database, which a later open finishes erasing,
        goes last. A kill never leaves the local copy gone and the shared copy forgotten.
        """

        def run() -> None:
            from telemetry._files import erase_library_files

            pipeline = self._pipeline()
            self._follow_sharing("delete_all")
            erase_library_files(self.settings.home)  # default exports, set-aside config files
            pipeline.erase()
            self.consent.rotate_identity()
            # Keyed hashes cached under the old secret must not outlive it.
            pipeline.anonymizer.clear_caches()
            self.consent.save()
            if self.consent.user_choice:
                pipeline.append_ledger("granted", "delete_all")

        return pending_from(self._executor().submit(run), "delete")

    @property
    def analytics(self) -> Analytics:
        """SQL analytics over this service's event log (reads work while the exporter writes)."""
        from analytics import Analytics

        return Analytics(self.event_log.reader)

    def stats(self) -> PipelineStats:
        built = self._built
        errors = dict(self._internal_errors.counts)
        dropped = self._held.dropped  # track_* calls held before the pipeline was ready
        if built is not None:
            stats = built.stats(errors)
            return stats.model_copy(update={"dropped_queue_full": stats.dropped_queue_full + dropped})
        return PipelineStats(
            queued=0, processed=0, exported=0, dropped_queue_full=dropped, dropped_anonymizer_failed=0,
            dropped_export_failed=0, dropped_without_consent=0, failed_exports=0, internal_errors=errors,
        )  # fmt: skip
