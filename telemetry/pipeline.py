"""The recording pipeline: built the first time consent is on (or something asks for the event log).

::

    app code ─ track_* (plain data) ─ Recorder ───────────────┐
    OTel code ─ Tracer(ConsentSampler) ─ ConsentGateProcessor ─┤
                                                  ▼
                      BackgroundSpanProcessor (bounded queue, one worker thread)
                                                  ▼  worker thread from here on
                      AnonymizingSpanProcessor ─ BatchExportingProcessor ─ DuckDBSpanExporter ─ file
    metrics ─ PeriodicExportingMetricReader ─ ConsentGated ─ Anonymizing ─ DuckDBMetricExporter ─ file

Everything heavy (DuckDB, Arrow, the anonymizer, the OTel SDK's providers, the threads) lives here and is
imported by :mod:`telemetry.service` only when a pipeline is built, so an app whose user never opts in
never loads it.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Callable, Mapping
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
from opentelemetry.trace import SpanContext

from exporters.debug import StderrSpanExporter
from exporters.duckdb_exporter import DuckDBMetricExporter, DuckDBSpanExporter
from exporters.eventlog import EventLog, schema
from exporters.eventlog.log import DEFAULT_LINGER_S
from exporters.fs import make_private_dirs
from exporters.otlp_json import ExportSummary, write_otlp_json
from processors.anonymizer import Anonymizer, EventDeclarations, PrivacyPolicy
from processors.anonymizing import AnonymizingMetricExporter, AnonymizingSpanProcessor
from processors.background import BackgroundSpanProcessor, BatchExportingProcessor
from processors.consent import ConsentGatedMetricExporter, ConsentGateProcessor, ConsentSampler
from telemetry._early_tracing import EarlyTracing
from telemetry._files import open_private
from telemetry._metric_hold import HeldMetricExporter
from telemetry.consent import ConsentStore
from telemetry.events import ErrorRecord, EventRecord, PerformanceRecord, SpanFactory, current_parent
from telemetry.settings import TelemetrySettings
from telemetry.stats import PipelineStats
from telemetry.system import build_resource, register_resource_gauges

SCOPE_NAME = "peft_studio.telemetry"
_MAX_HISTOGRAMS = 1_000
_METRICS_HOLD_S = 300.0


class Recorder:
    """``track_*`` calls as plain records on the background queue (the caller's side: no I/O, no locks).

    ``time_ns`` and ``parent`` are passed in when the call was made earlier (held while the pipeline was
    being built); otherwise they are read now.
    """

    def __init__(self, factory: SpanFactory, submit: Callable[[Any], None]) -> None:
        self._factory = factory
        self._submit = submit

    def event(self, event_type: str, properties: Mapping[str, Any] | None,
              time_ns: int | None = None, parent: SpanContext | None = None) -> None:  # fmt: skip
        props = dict(properties) if properties else None
        when = time.time_ns() if time_ns is None else time_ns
        self._submit(EventRecord(self._factory, event_type, props, when, parent or current_parent()))

    def error(self, exc: BaseException, context: Mapping[str, Any] | None,
              time_ns: int | None = None, parent: SpanContext | None = None) -> None:  # fmt: skip
        ctx = dict(context) if context else None
        when = time.time_ns() if time_ns is None else time_ns
        self._submit(ErrorRecord.from_exception(self._factory, exc, ctx, when, parent or current_parent()))

    def reported_error(self, error_type: str, message: str, stack: str, context: Mapping[str, Any] | None,
                       time_ns: int | None = None, parent: SpanContext | None = None) -> None:  # fmt: skip
        ctx = dict(context) if context else None
        when = time.time_ns() if time_ns is None else time_ns
        self._submit(ErrorRecord(self._factory, str(error_type), str(message), str(stack), ctx, when, None))

    def performance(self, metric_name: str, value: float, unit: str,
                    time_ns: int | None = None, parent: SpanContext | None = None) -> None:  # fmt: skip
        when = time.time_ns() if time_ns is None else time_ns
        self._submit(PerformanceRecord(self._factory, metric_name, value, unit, when, parent or current_parent()))


class _SpoolMerges:
    """The background worker's housekeeping: merge the spool when due, even with no new span to wake it."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def due_in(self) -> float | None:
        return self._log.merge_due_in()

    def run(self) -> None:
        if self._log.merge_due_in() == 0.0:
            self._log.merge()


class Pipeline:
    """The anonymizer, the event log and the OpenTelemetry pipeline into it, for one service."""

    def __init__(
        self,
        settings: TelemetrySettings,
        consent: ConsentStore,
        session_id: str,
        on_internal_error: Callable[[str], None],
        catalog: EventDeclarations | None = None,
        early: EarlyTracing | None = None,
    ) -> None:
        """``early``: the tracer provider ``enable()`` installed before this pipeline existed, adopted here."""
        self.settings = settings
        self.consent = consent
        self._internal_error = on_internal_error
        is_enabled = self._is_enabled
        self.anonymizer = Anonymizer(
            PrivacyPolicy(
                extra_denied_keys=settings.extra_denied_keys,
                extra_patterns=settings.extra_patterns,
                allowlist_keys=settings.allowlist_keys,
            ),
            secret=consent.secret,
            catalog=catalog,
        )
        self.event_log = EventLog(
            settings.db_path,
            max_events=settings.max_events,
            max_age_days=settings.max_age_days,
            memory_limit=settings.db_memory_limit,
            lock_timeout_s=settings.lock_timeout_s,
            # Open across two flush intervals (and a merge interval): a steady trickle never pays DuckDB's
            # open + close (~30 ms of CPU) per batch or merge. Lingering costs no CPU; processes using the
            # lock ring for the file and get it at once (lock.py).
            linger_s=max(DEFAULT_LINGER_S, 2 * settings.flush_interval_s + 1.0, settings.merge_interval_s + 1.0),
            # Flushes go to this process's spool file, merged into DuckDB every merge_interval_s.
            merge_interval_s=0.0 if settings.debug_print else settings.merge_interval_s,
        )
        self.resource = early.resource if early else build_resource(settings.app_name, settings.app_version, session_id)

        span_exporter: SpanExporter = (
            StderrSpanExporter() if settings.debug_print else DuckDBSpanExporter(self.event_log)
        )
        # Before each batch is written, consent is read again: spans that started after an opt-out (made
        # here or by another process sharing the home) are dropped, not stored.
        self.exporting = BatchExportingProcessor(
            span_exporter, max_retained=settings.queue_size, withdrawn_at_ns=consent.withdrawn_at_ns
        )
        self.anonymizing = AnonymizingSpanProcessor(self.anonymizer, self.exporting)
        self.background = BackgroundSpanProcessor(
            self.anonymizing,
            max_queue_size=settings.queue_size,
            max_batch_size=settings.batch_size,
            schedule_delay_s=settings.flush_interval_s,
            housekeeping=_SpoolMerges(self.event_log),  # a trickle that stops is merged all the same
        )
        self.gate = ConsentGateProcessor(is_enabled, self.background)
        self._early = early
        if early is not None and early.provider is not None:
            self.tracer_provider = early.provider  # global already, same resource and sampler as below
        else:
            self.tracer_provider = TracerProvider(
                resource=self.resource, sampler=ConsentSampler(is_enabled), shutdown_on_exit=False
            )
            self.tracer_provider.add_span_processor(self.gate)
        if early is not None:
            early.held.release_into(self.gate)  # spans that ended meanwhile first, then every later one
        self.tracer = self.tracer_provider.get_tracer(SCOPE_NAME)

        self.metric_writer = DuckDBMetricExporter(self.event_log)
        self.metric_exporter: MetricExporter = ConsentGatedMetricExporter(
            is_enabled,
            AnonymizingMetricExporter(self.anonymizer, self.metric_writer),
            withdrawn_at_ns=consent.withdrawn_at_ns,  # an opt-out in another process counts from its moment
        )
        # The reader's own exports are held and written a few times an hour (see _metric_hold); the
        # OTLP receiver's go through ``metric_exporter`` directly.
        self.metric_reader = PeriodicExportingMetricReader(
            HeldMetricExporter(self.metric_exporter, hold_s=_METRICS_HOLD_S),
            export_interval_millis=settings.metrics_interval_s * 1000,
        )
        self.meter_provider = MeterProvider(
            resource=self.resource, metric_readers=[self.metric_reader], shutdown_on_exit=False
        )
        self._meter = self.meter_provider.get_meter(SCOPE_NAME)
        self._histograms: dict[tuple[str, str], Histogram] = {}
        if settings.sample_resources:
            register_resource_gauges(self._meter, is_enabled)
        factory = SpanFactory(
            self.resource, InstrumentationScope(SCOPE_NAME, "", ""), record_measurement=self._record_histogram
        )
        self.recorder = Recorder(factory, self.background.submit)
        if settings.install_global:
            self._install_globals()

    @property
    def span_processor(self) -> SpanProcessor:
        return self.gate

    def _is_enabled(self) -> bool:
        return self.consent.enabled

    def _record_histogram(self, name: str, value: float, unit: str) -> None:
        # Runs on the export worker. The instrument name is cleaned to what OTel accepts; the span that
        # carries the same measurement is what the anonymizer scrubs and analytics read.
        key = (name, unit)
        histogram = self._histograms.get(key)
        if histogram is None:
            if len(self._histograms) >= _MAX_HISTOGRAMS:
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

    def _install_globals(self) -> None:
        # With ``early``, its provider is global already, or its holder forwards from the app's own provider.
        if self._early is None:
            current = trace_api.get_tracer_provider()
            if isinstance(current, TracerProvider):
                # The app installed its own SDK provider first: our gate still guards what reaches our log.
                current.add_span_processor(self.gate)
            else:
                trace_api.set_tracer_provider(self.tracer_provider)
        metrics_api.set_meter_provider(self.meter_provider)

    # -- the consent ledger --------------------------------------------------------------------------

    def append_ledger(self, action: str, source: str) -> None:
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

    # -- data control (the service runs these on its I/O thread) -------------------------------------

    def flush(self, deadline: float) -> bool:
        """True when everything recorded so far was written: False when spans wait for a retry or were
        lost while flushing."""
        lost_before = self._export_losses()
        spans = self.background.force_flush(int(max(0.0, deadline - time.monotonic()) * 1000))
        metrics = self.metric_reader.force_flush(timeout_millis=max(0.0, deadline - time.monotonic()) * 1000)
        written = not self.exporting.pending and self._export_losses() == lost_before
        merged = self.event_log.merge_due_in() is None or self.event_log.merge()  # in DuckDB, not just spooled
        return bool(spans and metrics) and written and merged

    def _export_losses(self) -> int:
        """Spans lost on the way into DuckDB: refused by the writer, or spooled and refused at a merge."""
        return self.exporting.dropped_export_failed + self.event_log.spooled_spans_dropped

    def export(self, target: Path, start_ns: int | None, end_ns: int | None, own_folder: bool) -> ExportSummary:
        """Write OTLP JSON Lines to ``target`` (0600 from the start). ``own_folder``: the target is in the
        library's exports folder, created 0700 if missing; a folder the caller named must already exist."""
        self.background.force_flush()
        if own_folder:
            make_private_dirs(target.parent)
        with os.fdopen(open_private(target), "wb") as out:
            return write_otlp_json(self.event_log, out, start_ns=start_ns, end_ns=end_ns)

    def erase(self) -> None:
        """Discard what is queued, then rebuild the event log from nothing (see ``EventLog.erase``)."""
        self.background.discard_pending()
        self.background.force_flush()
        self.metric_reader.force_flush()
        self.event_log.erase()

    def stats(self, internal_errors: dict[str, int]) -> PipelineStats:
        errors = dict(internal_errors)
        for kind, count in self.background.failures.items():
            errors[kind] = errors.get(kind, 0) + count
        return PipelineStats(
            queued=self.background.queued,
            processed=self.background.processed,
            exported=self.exporting.exported,
            dropped_queue_full=self.background.dropped_queue_full + (self._early.held.dropped if self._early else 0),
            dropped_anonymizer_failed=self.anonymizing.dropped,
            dropped_export_failed=self._export_losses(),
            dropped_without_consent=self.gate.dropped_without_consent + self.exporting.dropped_after_withdrawal,
            failed_exports=self.exporting.failed_exports,
            internal_errors=errors,
            dropped_metric_points_export_failed=self.metric_writer.failed_points,
        )

    def stop(self, deadline: float) -> bool:
        """Drain spans and metrics and stop their threads within the deadline; True when nothing queued
        was left behind. The event log stays open for the service's last jobs; :meth:`close` closes it."""

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        self.background.shutdown(int(left() * 1000))
        # Any span the export lost in this run (a full disk, a log locked too long) makes it unclean.
        clean = not self.background.queued and not self.exporting.dropped_export_failed
        self.metric_reader.shutdown(timeout_millis=left() * 1000)
        return clean

    def close(self, timeout_s: float | None = None) -> None:
        """Close the event log within ``timeout_s`` (what is left of a shutdown's budget)."""
        if timeout_s is None:
            self.event_log.close()
        else:
            self.event_log.close_within(timeout_s)
