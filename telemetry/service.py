"""The telemetry service: consent, the anonymous identity, and the recording pipeline once there is consent.

Most users never opt in, so what the service costs with consent off is what most installs pay: with no
consent it holds the settings and the consent record and nothing else (no thread, no file written, no
DuckDB, Arrow or analytics imported). The pipeline (:mod:`telemetry.pipeline`) is built the first time
consent is on: at start when it was given in an earlier run, on :meth:`TelemetryService.enable`, when
another process enables it (noticed by the next ``track_*`` call, at most once per ``consent_poll_s``), or
when something asks for a part of it (the event log, the tracer provider).

Nothing on the caller's side does I/O, blocks or raises. Consent writes, erasure and export run on a
serial daemon thread and hand back :class:`~telemetry.pending.Pending` results (await them or call
``.result()``); building the pipeline after
``enable()`` runs there too, and ``track_*`` calls made meanwhile are held (bounded) and replayed into it;
so are plain OTel spans, for which ``enable()`` installs the tracer provider first
(:mod:`telemetry._early_tracing`, ~40 ms once).
"""

from __future__ import annotations

import atexit
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from exporters._failure_log import FailureLog
from telemetry import capture
from telemetry._data_control import DataControl
from telemetry._held import HeldCalls, Recording
from telemetry.consent import ConsentStore
from telemetry.pending import Pending, pending_from
from telemetry.settings import CONSENT_POLICY_VERSION, TelemetrySettings
from telemetry.stats import Completed, PipelineStats

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.trace import Tracer

    from exporters.eventlog import EventLog
    from processors.anonymizer import Anonymizer
    from telemetry._background_io import SerialExecutor
    from telemetry._early_tracing import EarlyTracing
    from telemetry.catalog import EventCatalog
    from telemetry.pipeline import Pipeline

__all__ = ["SCOPE_NAME", "PipelineStats", "TelemetryService"]

_logger = logging.getLogger(__name__)

SCOPE_NAME = "peft_studio.telemetry"
_MAX_OFF_STRIDE = 1024


class TelemetryService(DataControl):
    """Consent, the anonymous identity, and the OpenTelemetry pipeline into the local event log.

    Data control (flush, export_all, delete_all, analytics, stats) comes from
    :class:`~telemetry._data_control.DataControl`.

    >>> service = TelemetryService(TelemetrySettings(home=tmp_home, install_global=False))
    >>> service.enable()
    >>> service.track_event_sync("training_started", {"algorithm": "lora"})
    >>> service.flush()
    """

    def __init__(self, settings: TelemetrySettings | None = None, catalog: EventCatalog | None = None) -> None:
        self.settings = settings = settings or TelemetrySettings()
        # Declared events (telemetry.catalog), enforced by the anonymizer; PEFT Studio's by default, built
        # on first need (the catalog imports the anonymizer, which the consent-off path never loads).
        self._catalog = catalog
        self._internal_errors = FailureLog(_logger)
        self._closed = False
        self.consent = ConsentStore(
            settings.config_path,
            settings.secret_path,
            do_not_track=settings.do_not_track,
            policy_version=CONSENT_POLICY_VERSION,
        )
        self.session_id = secrets.token_hex(16)  # 32 hex digits, like uuid4().hex
        self.session_start = datetime.now(UTC)
        self._build_lock = threading.Lock()
        self._built: Pipeline | None = None
        self._held = HeldCalls(settings.queue_size)
        self._losses_at_flush = 0  # losses stats() counted at the last flush (DataControl.flush)
        self._early: EarlyTracing | None = None  # enable()'s tracer provider, until the pipeline adopts it
        self._recorder: Recording = self._held
        self._io: SerialExecutor | None = None
        self._io_lock = threading.Lock()
        self._watcher_stop = threading.Event()
        self._next_consent_look = time.monotonic() + settings.consent_poll_s
        self._off_calls = 1  # track_* calls with consent off until the next look at the clock
        self._off_stride = 1
        atexit.register(self.shutdown)
        if self.consent.enabled:
            self._pipeline()  # consent given in an earlier run: record from the very first call
            if settings.capture_exceptions:
                capture.install(self)
        self._follow_sharing("start")

    # -- the pipeline, built on first need -----------------------------------------------------------

    def _pipeline(self) -> Pipeline:
        built = self._built
        if built is not None:
            return built
        with self._build_lock:
            if self._built is None:
                from telemetry.pipeline import Pipeline

                pipeline = Pipeline(
                    self.settings, self.consent, self.session_id, self._internal_error, self.catalog.declarations(),
                    early=self._early,
                )  # fmt: skip
                self._held.replay_into(pipeline.recorder, self._internal_error)
                self._recorder = pipeline.recorder
                self._built = pipeline
                # Exit hooks run last-registered first: ours must run before those the pipeline's modules
                # registered on import (the event log closes its files in one).
                atexit.unregister(self.shutdown)
                atexit.register(self.shutdown)
                threading.Thread(target=self._watch_consent, name="peft-telemetry-consent", daemon=True).start()
            return self._built

    def _executor(self) -> SerialExecutor:
        io = self._io
        if io is None:
            with self._io_lock:
                if self._io is None:
                    from telemetry._background_io import SerialExecutor

                    self._io = SerialExecutor("peft-telemetry-io")
                io = self._io
        return io

    @property
    def catalog(self) -> EventCatalog:
        """The declared events: enforced by the anonymizer, listed on the consent page."""
        if self._catalog is None:
            from telemetry.catalog import default_catalog

            self._catalog = default_catalog()
        return self._catalog

    @property
    def event_log(self) -> EventLog:
        """The local event log (builds the pipeline if consent never was on in this process)."""
        return self._pipeline().event_log

    @property
    def anonymizer(self) -> Anonymizer:
        return self._pipeline().anonymizer

    @property
    def resource(self) -> Resource:
        return self._pipeline().resource

    @property
    def tracer_provider(self) -> TracerProvider:
        return self._pipeline().tracer_provider

    @property
    def tracer(self) -> Tracer:
        return self._pipeline().tracer

    @property
    def meter_provider(self) -> MeterProvider:
        return self._pipeline().meter_provider

    @property
    def span_processor(self) -> SpanProcessor:
        """The entry of the span pipeline, for spans built elsewhere (the OTLP receiver) to pass the same
        consent gate, anonymizer and exporter as everything else."""
        return self._pipeline().span_processor

    @property
    def metric_exporter(self) -> MetricExporter:
        return self._pipeline().metric_exporter

    # -- consent -------------------------------------------------------------------------------------

    def _watch_consent(self) -> None:
        # Another process (the CLI, the service) may change consent or erase the data: follow it
        # within a second, so `peft-telemetry disable` stops a running app from recording.
        while not self._watcher_stop.wait(self.settings.consent_poll_s):
            try:
                self.consent.refresh()
            except Exception:
                self._internal_error("consent refresh")
            self._follow_sharing("tick")

    def _follow_sharing(self, event: str) -> None:
        # Fleet sharing is a second consent: its module is imported only once the user chose a hub.
        if self.consent.record.share_endpoint is None:
            return
        try:
            from telemetry.sharing import follow

            follow(self, event)
        except Exception:
            self._internal_error("sharing")

    def _look_for_consent(self) -> None:
        """Consent off and no pipeline (so no watcher thread): at most once per ``consent_poll_s``, on a
        caller's thread, stat the consent files; if another process gave consent, build the pipeline on
        the I/O thread.

        Reading the clock costs more than the rest of an off ``track_*`` call on some virtual machines,
        so it is read once every ``_off_stride`` calls: the stride doubles while calls come faster than
        the poll interval and halves when one comes later, keeping about one clock read per interval.
        """
        if self._built is not None:
            self._off_calls = 1 << 30  # the watcher thread follows consent from here on
            return
        now = time.monotonic()
        if now < self._next_consent_look:
            self._off_stride = min(self._off_stride * 2, _MAX_OFF_STRIDE)
            self._off_calls = self._off_stride
            return
        self._off_stride = max(self._off_stride // 2, 1)
        self._off_calls = self._off_stride
        self._next_consent_look = now + self.settings.consent_poll_s
        try:
            if self.consent.refresh() and self.consent.enabled and not self._closed:
                self._executor().submit(self._pipeline)
        except Exception:
            self._internal_error("consent refresh")

    def is_enabled(self) -> bool:
        """True when events are being recorded: the user agreed and DO_NOT_TRACK is not set."""
        if not self.consent.enabled and self._built is None:
            self._off_calls = 0  # an explicit question: look now if the interval is over
            self._look_for_consent()
        return self.consent.enabled

    def enable(self, *, source: str = "api") -> Pending[None]:
        """Record consent. Takes effect at once; the file write and ledger entry happen in the background."""
        return self._set_consent(True, source)

    def disable(self, *, source: str = "api") -> Pending[None]:
        """Revoke consent. Nothing is recorded from this call on; already queued events are still written."""
        return self._set_consent(False, source)

    def _set_consent(self, enabled: bool, source: str) -> Pending[None]:
        if self.consent.do_not_track and enabled:
            _logger.warning("telemetry: DO_NOT_TRACK is set, so telemetry stays off despite enable()")
        self.consent.set_enabled(enabled)
        if enabled and self.settings.capture_exceptions:
            capture.install(self)
        if enabled:
            self._trace_until_built()
        action = "granted" if enabled else "revoked"
        return pending_from(self._executor().submit(lambda: self._persist_consent(action, source)), f"consent {action}")

    def _trace_until_built(self) -> None:
        """Before the pipeline exists, install its tracer provider now (~40 ms once), holding finished spans
        for it: OTel spans started right after ``enable()`` are recorded too (:mod:`telemetry._early_tracing`)."""
        if self._built is not None or self._early is not None or not self.settings.install_global:
            return
        if not self.consent.enabled:  # DO_NOT_TRACK
            return
        with self._build_lock:
            if self._built is not None or self._early is not None:
                return
            try:
                from telemetry._early_tracing import install_early_tracing

                self._early = install_early_tracing(
                    self.settings, self.session_id, lambda: self.consent.enabled, limit=self.settings.queue_size
                )
            except Exception:
                self._internal_error("tracing")  # the pipeline installs its own provider when it is built

    def _persist_consent(self, action: str, source: str) -> None:
        self.consent.save()  # an unwritable config is the caller's to see, through the Pending
        try:
            self._pipeline().append_ledger(action, source)
        except Exception:
            # The choice itself is saved; only its proof in the log is missing. Counted and logged once.
            self._internal_error("consent ledger")

    def append_ledger(self, action: str, source: str) -> None:
        """Append an entry to the consent ledger (sharing's consent uses it too); builds the pipeline."""
        self._pipeline().append_ledger(action, source)

    @property
    def anonymous_user_id(self) -> str:
        """The anonymous id (created, with the install secret, the first time it is asked for)."""
        return self.consent.anonymous_id

    @property
    def session_start_ns(self) -> int:
        return int(self.session_start.timestamp() * 1_000_000_000)

    # -- recording: the hot path ---------------------------------------------------------------------

    def track_event_sync(self, event_type: str, properties: Mapping[str, Any] | None = None) -> None:
        """Record an application event. About a microsecond; never blocks or raises.

        >>> service.track_event_sync("model_loaded", {"model_name": "llama-2-7b"})
        """
        if not self.consent.enabled:
            self._off_calls -= 1
            if self._off_calls <= 0:
                self._look_for_consent()
            return
        try:
            self._recorder.event(event_type, properties)
        except Exception:
            self._internal_error("track_event")

    def track_error_sync(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
        """Record an exception: type, first line of the message, frames, context and a category."""
        if not self.consent.enabled:
            self._off_calls -= 1
            if self._off_calls <= 0:
                self._look_for_consent()
            return
        try:
            self._recorder.error(exc, context)
        except Exception:
            self._internal_error("track_error")

    def track_reported_error_sync(
        self, error_type: str, message: str, stack: str = "", context: Mapping[str, Any] | None = None
    ) -> None:
        """Record an error reported from elsewhere (the browser, another process) as text."""
        if not self.consent.enabled:
            self._off_calls -= 1
            if self._off_calls <= 0:
                self._look_for_consent()
            return
        try:
            self._recorder.reported_error(error_type, message, stack, context)
        except Exception:
            self._internal_error("track_reported_error")

    def track_performance_sync(self, metric_name: str, value: float, unit: str = "ms") -> None:
        """Record a measurement, e.g. ``("api_response_time", 150.5, "ms")``."""
        if not self.consent.enabled:
            self._off_calls -= 1
            if self._off_calls <= 0:
                self._look_for_consent()
            return
        try:
            self._recorder.performance(metric_name, value, unit)
        except Exception:
            self._internal_error("track_performance")

    async def track_event(self, event_type: str, properties: Mapping[str, Any] | None = None) -> None:
        self.track_event_sync(event_type, properties)

    async def track_error(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
        self.track_error_sync(exc, context)

    async def track_performance(self, metric_name: str, value: float, unit: str = "ms") -> None:
        self.track_performance_sync(metric_name, value, unit)

    def _internal_error(self, where: str) -> None:
        self._internal_errors.record(
            where, "telemetry: internal error in %s; the app is unaffected, further ones are counted", where
        )

    # -- lifecycle -----------------------------------------------------------------------------------

    def shutdown(self, timeout: float | None = None) -> Completed:
        """Flush and stop, within ``timeout`` seconds even if the disk hangs. Safe to call twice.

        False when spans were lost in this run (counted in ``stats()``: a full queue, the anonymizer failing
        closed, a write refused)."""
        if self._closed:
            return Completed(True)
        self._closed = True
        capture.uninstall(self)
        self._watcher_stop.set()
        self._follow_sharing("shutdown")
        atexit.unregister(self.shutdown)
        budget = self.settings.shutdown_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + budget
        clean = True
        built = self._built
        try:
            if built is not None:
                clean = built.stop(deadline)
            if self._io is not None:
                clean = self._io.shutdown(max(0.0, deadline - time.monotonic())) and clean
            if self._built is not None and self._built is not built:  # built by a job that just ran
                clean = self._built.stop(deadline) and clean
            return Completed(clean and not self._losses())
        except Exception:
            self._internal_error("shutdown")
            return Completed(False)
        finally:
            if self._built is not None:
                self._built.close(max(0.0, deadline - time.monotonic()))
