"""The telemetry service: builds the pipeline and owns it.

::

    app code ─ track_* (plain data) ──────────────┐
    OTel code ─ Tracer(ConsentSampler) ─ ConsentGateProcessor ─┤
                                                  ▼
                      BackgroundSpanProcessor (bounded queue, one worker thread)
                                                  ▼  worker thread from here on
                      AnonymizingSpanProcessor ─ BatchExportingProcessor ─ DuckDBSpanExporter ─ file
    metrics ─ PeriodicExportingMetricReader ─ ConsentGated ─ Anonymizing ─ DuckDBMetricExporter ─ file

Nothing on the caller's side does I/O, blocks or raises. Consent writes, erasure and export run on a
serial daemon thread and hand back ``concurrent.futures.Future`` objects.
"""

from __future__ import annotations

import atexit
import collections
import logging
import threading
import time
import unicodedata
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.metrics import Histogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from pydantic import BaseModel

from analytics import Analytics
from exporters.debug import StderrSpanExporter
from exporters.duckdb_exporter import DuckDBMetricExporter, DuckDBSpanExporter
from exporters.eventlog import EventLog, schema
from exporters.otlp_json import ExportSummary, write_otlp_json
from processors.anonymizer import Anonymizer, PrivacyPolicy
from processors.anonymizing import AnonymizingMetricExporter, AnonymizingSpanProcessor
from processors.background import BackgroundSpanProcessor, BatchExportingProcessor
from processors.consent import ConsentGatedMetricExporter, ConsentGateProcessor, ConsentSampler
from telemetry._background_io import SerialExecutor
from telemetry.catalog import EventCatalog, default_catalog
from telemetry.consent import ConsentStore
from telemetry.events import ErrorRecord, EventRecord, PerformanceRecord, SpanFactory, current_parent
from telemetry.settings import CONSENT_POLICY_VERSION, TelemetrySettings
from telemetry.system import build_resource, register_resource_gauges

_logger = logging.getLogger(__name__)

SCOPE_NAME = "peft_studio.telemetry"


class PipelineStats(BaseModel):
    """Counters that show what the pipeline did and, above all, what it dropped and why."""

    queued: int
    processed: int
    exported: int
    dropped_queue_full: int
    dropped_anonymizer_failed: int
    dropped_export_failed: int
    dropped_without_consent: int
    failed_exports: int
    internal_errors: dict[str, int]


class _Completed:
    """A finished result that may also be awaited, so ``await telemetry.shutdown()`` (the spec's form)
    and plain ``telemetry.shutdown()`` both work."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __bool__(self) -> bool:
        return self.value

    def __await__(self) -> Any:
        if False:  # pragma: no cover - makes this a generator without suspending
            yield None
        return self.value


class TelemetryService:
    """Consent, the anonymous identity, and the OpenTelemetry pipeline into the local event log.

    >>> service = TelemetryService(TelemetrySettings(home=tmp_home, install_global=False))
    >>> service.enable()
    >>> service.track_event_sync("training_started", {"algorithm": "lora"})
    >>> service.flush()
    """

    def __init__(self, settings: TelemetrySettings | None = None, catalog: EventCatalog | None = None) -> None:
        self.settings = settings = settings or TelemetrySettings()
        #: Declared events (telemetry.catalog): enforced by the anonymizer, listed on the consent page.
        self.catalog = catalog if catalog is not None else default_catalog()
        self._internal_errors: collections.Counter[str] = collections.Counter()
        self._closed = False
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.consent = ConsentStore(
            settings.config_path,
            settings.secret_path,
            do_not_track=settings.do_not_track,
            policy_version=CONSENT_POLICY_VERSION,
        )
        self.session_id = uuid.uuid4().hex
        self.session_start = datetime.now(UTC)
        self.anonymizer = Anonymizer(
            PrivacyPolicy(
                extra_denied_keys=settings.extra_denied_keys,
                extra_patterns=settings.extra_patterns,
                allowlist_keys=settings.allowlist_keys,
            ),
            secret=self.consent.secret,
            catalog=self.catalog.declarations(),
        )
        self.event_log = EventLog(
            settings.db_path,
            max_events=settings.max_events,
            max_age_days=settings.max_age_days,
            memory_limit=settings.db_memory_limit,
            lock_timeout_s=settings.lock_timeout_s,
        )
        self.resource = build_resource(settings.app_name, settings.app_version, self.session_id)
        is_enabled = self._is_enabled

        span_exporter: SpanExporter = (
            StderrSpanExporter() if settings.debug_print else DuckDBSpanExporter(self.event_log)
        )
        self._exporting = BatchExportingProcessor(span_exporter, max_retained=settings.queue_size)
        self._anonymizing = AnonymizingSpanProcessor(self.anonymizer, self._exporting)
        self._background = BackgroundSpanProcessor(
            self._anonymizing,
            max_queue_size=settings.queue_size,
            max_batch_size=settings.batch_size,
            schedule_delay_s=settings.flush_interval_s,
        )
        self._gate = ConsentGateProcessor(is_enabled, self._background)
        #: The entry of the span pipeline, for spans built elsewhere (the OTLP receiver) to pass the same
        #: consent gate, anonymizer and exporter as everything else.
        self.span_processor: SpanProcessor = self._gate
        self.tracer_provider = TracerProvider(
            resource=self.resource, sampler=ConsentSampler(is_enabled), shutdown_on_exit=False
        )
        self.tracer_provider.add_span_processor(self._gate)
        self.tracer = self.tracer_provider.get_tracer(SCOPE_NAME)

        self.metric_exporter: MetricExporter = ConsentGatedMetricExporter(
            is_enabled, AnonymizingMetricExporter(self.anonymizer, DuckDBMetricExporter(self.event_log))
        )
        self._metric_reader = PeriodicExportingMetricReader(
            self.metric_exporter, export_interval_millis=settings.metrics_interval_s * 1000
        )
        self.meter_provider = MeterProvider(
            resource=self.resource, metric_readers=[self._metric_reader], shutdown_on_exit=False
        )
        self._meter = self.meter_provider.get_meter(SCOPE_NAME)
        self._histograms: dict[tuple[str, str], Histogram] = {}
        if settings.sample_resources:
            register_resource_gauges(self._meter, is_enabled)
        self._factory = SpanFactory(
            self.resource, InstrumentationScope(SCOPE_NAME, "", ""), record_measurement=self._record_histogram
        )
        self._io = SerialExecutor("peft-telemetry-io")
        self._watcher_stop = threading.Event()
        threading.Thread(target=self._watch_consent, name="peft-telemetry-consent", daemon=True).start()
        if settings.install_global:
            self._install_globals()
        atexit.register(self.shutdown)

    # -- consent -------------------------------------------------------------------------------------

    def _is_enabled(self) -> bool:
        return self.consent.enabled

    def _watch_consent(self) -> None:
        # Another process (the CLI, the service) may change consent or erase the data: follow it
        # within a second, so `peft-telemetry disable` stops a running app from recording.
        while not self._watcher_stop.wait(self.settings.consent_poll_s):
            try:
                self.consent.refresh()
            except Exception:
                self._internal_error("consent refresh")

    def is_enabled(self) -> bool:
        """True when events are being recorded: the user agreed and DO_NOT_TRACK is not set."""
        return self.consent.enabled

    def enable(self, *, source: str = "api") -> Future[None]:
        """Record consent. Takes effect at once; the file write and ledger entry happen in the background."""
        return self._set_consent(True, source)

    def disable(self, *, source: str = "api") -> Future[None]:
        """Revoke consent. Nothing is recorded from this call on; already queued events are still written."""
        return self._set_consent(False, source)

    def _set_consent(self, enabled: bool, source: str) -> Future[None]:
        if self.consent.do_not_track and enabled:
            _logger.warning("telemetry: DO_NOT_TRACK is set, so telemetry stays off despite enable()")
        self.consent.set_enabled(enabled)
        action = "granted" if enabled else "revoked"
        return self._io.submit(lambda: self._persist_consent(action, source))

    def _persist_consent(self, action: str, source: str) -> None:
        self.consent.save()  # an unwritable config is the caller's to see, through the Future
        try:
            self._append_ledger(action, source)
        except Exception:
            # The choice itself is saved; only its proof in the log is missing. Counted and logged once.
            self._internal_error("consent ledger")

    def _append_ledger(self, action: str, source: str) -> None:
        values = [action, self.consent.policy_version, self.consent.anonymous_id, source]
        # Our own constants, but every string that reaches the file passes the anonymizer all the same.
        action, policy, anon_id, source = (self.anonymizer.scrub_text(v)[0] for v in values)
        table = pa.table(
            {
                "time_ns": pa.array([time.time_ns()], pa.int64()),
                "action": [action],
                "policy_version": [policy],
                "anonymous_id": [anon_id],
                "source": [source],
            }
        )
        self.event_log.append(schema.CONSENT_LEDGER, table.select(schema.column_names(schema.CONSENT_LEDGER)))

    @property
    def anonymous_user_id(self) -> str:
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
            return
        try:
            props = dict(properties) if properties else None
            self._background.submit(EventRecord(self._factory, event_type, props, time.time_ns(), current_parent()))
        except Exception:
            self._internal_error("track_event")

    def track_error_sync(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
        """Record an exception: type, first line of the message, frames, context and a category."""
        if not self.consent.enabled:
            return
        try:
            ctx = dict(context) if context else None
            record = ErrorRecord.from_exception(self._factory, exc, ctx, time.time_ns(), current_parent())
            self._background.submit(record)
        except Exception:
            self._internal_error("track_error")

    def track_reported_error_sync(
        self, error_type: str, message: str, stack: str = "", context: Mapping[str, Any] | None = None
    ) -> None:
        """Record an error reported from elsewhere (the browser, another process) as text."""
        if not self.consent.enabled:
            return
        try:
            ctx = dict(context) if context else None
            record = ErrorRecord(self._factory, str(error_type), str(message), str(stack), ctx, time.time_ns(), None)
            self._background.submit(record)
        except Exception:
            self._internal_error("track_reported_error")

    def track_performance_sync(self, metric_name: str, value: float, unit: str = "ms") -> None:
        """Record a measurement, e.g. ``("api_response_time", 150.5, "ms")``."""
        if not self.consent.enabled:
            return
        try:
            record = PerformanceRecord(self._factory, metric_name, value, unit, time.time_ns(), current_parent())
            self._background.submit(record)
        except Exception:
            self._internal_error("track_performance")

    async def track_event(self, event_type: str, properties: Mapping[str, Any] | None = None) -> None:
        self.track_event_sync(event_type, properties)

    async def track_error(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
        self.track_error_sync(exc, context)

    async def track_performance(self, metric_name: str, value: float, unit: str = "ms") -> None:
        self.track_performance_sync(metric_name, value, unit)

    def _record_histogram(self, name: str, value: float, unit: str) -> None:
        # Runs on the export worker. The instrument name is cleaned to what OTel accepts; the span that
        # carries the same measurement is what the anonymizer scrubs and analytics read.
        key = (name, unit)
        histogram = self._histograms.get(key)
        if histogram is None:
            if len(self._histograms) >= 1_000:
                return
            # Scrubbed before the characters OTel refuses are replaced: that replacement would hide an "@"
            # from the detectors. The metric exporter scrubs the name again (it sees every road).
            name, unit = self.anonymizer.scrub_text(name)[0], self.anonymizer.scrub_text(unit)[0]
            # OTel accepts ASCII letters, digits and ``._-/`` only (and raises otherwise, which would lose
            # the measurement): "épochs" must not cost the span that carries the same value.
            plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
            clean = "".join(c if (c.isascii() and c.isalnum()) or c in "._-/" else "_" for c in plain)[:255]
            if not clean[:1].isalpha():
                clean = "m_" + clean
            clean_unit = "".join(c if c.isascii() and c.isprintable() else "_" for c in unit)[:63]
            histogram = self._meter.create_histogram(clean[:255], unit=clean_unit)
            self._histograms[key] = histogram
        histogram.record(value)

    def _internal_error(self, where: str) -> None:
        self._internal_errors[where] += 1
        if self._internal_errors[where] == 1:
            _logger.error("telemetry: internal error in %s; the app is unaffected, further ones are counted", where)

    # -- data control --------------------------------------------------------------------------------

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Write everything recorded so far (spans and metrics). Blocks: for tests, CLIs and shutdown."""
        deadline = time.monotonic() + timeout_s
        spans = self._background.force_flush(int(timeout_s * 1000))
        remaining = max(0.0, deadline - time.monotonic())
        metrics = self._metric_reader.force_flush(timeout_millis=remaining * 1000)
        io_done = self._io.submit(lambda: None)
        try:
            io_done.result(max(0.0, deadline - time.monotonic()))
        except Exception:
            return False
        return bool(spans and metrics)

    def export_all(
        self, path: Path | None = None, *, start_ns: int | None = None, end_ns: int | None = None
    ) -> Future[ExportSummary]:
        """Write everything recorded as OTLP JSON Lines to ``path`` (default: ``<home>/exports/``)."""
        target = path or self.settings.home / "exports" / f"telemetry-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"

        def run() -> ExportSummary:
            self._background.force_flush()
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as out:
                return write_otlp_json(self.event_log, out, start_ns=start_ns, end_ns=end_ns)

        return self._io.submit(run)

    def delete_all(self) -> Future[None]:
        """Erase every recorded byte, rotate the anonymous identity, and keep the user's consent choice.

        Queued events are discarded first; the database is then rebuilt from nothing (deleting rows is
        not erasing, see the field notes). If consent is on, the fresh log starts with a ledger entry so
        it can still prove what the user agreed to.
        """

        def run() -> None:
            self._background.discard_pending()
            self._background.force_flush()
            self._metric_reader.force_flush()
            self.event_log.erase()
            self.consent.rotate_identity()
            # Keyed hashes cached under the old secret must not outlive it.
            self.anonymizer.clear_caches()
            self.consent.save()
            if self.consent.user_choice:
                self._append_ledger("granted", "delete_all")

        return self._io.submit(run)

    @property
    def analytics(self) -> Analytics:
        """SQL analytics over this service's event log (reads work while the exporter writes)."""
        return Analytics(self.event_log.reader)

    def stats(self) -> PipelineStats:
        return PipelineStats(
            queued=self._background.queued,
            processed=self._background.processed,
            exported=self._exporting.exported,
            dropped_queue_full=self._background.dropped_queue_full,
            dropped_anonymizer_failed=self._anonymizing.dropped,
            dropped_export_failed=self._exporting.dropped_export_failed,
            dropped_without_consent=self._gate.dropped_without_consent,
            failed_exports=self._exporting.failed_exports,
            internal_errors=dict(self._internal_errors + self._background.failures),
        )

    # -- lifecycle -----------------------------------------------------------------------------------

    def _install_globals(self) -> None:
        current = trace_api.get_tracer_provider()
        if isinstance(current, TracerProvider):
            # The app installed its own SDK provider first: our gate still guards what reaches our log.
            current.add_span_processor(self._gate)
        else:
            trace_api.set_tracer_provider(self.tracer_provider)
        metrics_api.set_meter_provider(self.meter_provider)

    def shutdown(self, timeout: float | None = None) -> _Completed:
        """Flush and stop, within ``timeout`` seconds even if the disk hangs. Safe to call twice."""
        if self._closed:
            return _Completed(True)
        self._closed = True
        self._watcher_stop.set()
        atexit.unregister(self.shutdown)
        budget = self.settings.shutdown_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + budget

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        try:
            self._background.shutdown(int(left() * 1000))
            clean = not self._background.queued
            self._metric_reader.shutdown(timeout_millis=left() * 1000)
            clean = self._io.shutdown(left()) and clean
            return _Completed(clean)
        except Exception:
            self._internal_error("shutdown")
            return _Completed(False)
        finally:
            self.event_log.close()
