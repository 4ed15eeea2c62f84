"""The red-team corpus through every channel into a real DuckDB file; then grep everything for the needles.

One service, one uvicorn server and one DuckDB file for the whole module (started with personal data in
OTEL_RESOURCE_ATTRIBUTES). Every attack of _redteam_corpus is placed in every channel that can carry it:
``track_event`` (properties, event type), ``track_error`` (message, context), ``track_performance`` (metric
name), plain OTel spans (name, attribute, event name, status, recorded exception with note and cause),
plain OTel metrics (description, point attributes), the REST intake (events, errors, performance), the
OTLP receiver through the official OTLP/HTTP exporters, and ``preview``. Then the needles are searched,
case-insensitively, in every table of the DuckDB file (as text), the file's and the WAL's raw bytes, the
export, the preview answers and every log record. The report prints cases and leaks; the target is 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from _redteam_corpus import ATTACKS, RESOURCE_ENV, RESOURCE_NEEDLES, Attack
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from exporters.eventlog import schema
from tests.server.conftest import LiveServer, live_server

API = "/api/telemetry"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))
            if record.exc_info:
                self.lines.append(logging.Formatter().formatException(record.exc_info))


@dataclass
class Run:
    server: LiveServer
    cases: list[tuple[str, str]] = field(default_factory=list)  # (attack label, channel)
    previews: list[str] = field(default_factory=list)
    logs: _Collect = field(default_factory=_Collect)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _props(attack: Attack) -> dict[str, Any]:
    return {attack.key or "detail": attack.value}


def _plant_in_process(run: Run, attack: Attack) -> None:
    service = run.server.service
    label, text = attack.label, _text(attack.value)
    service.track_event_sync("redteam_event", _props(attack))
    run.cases.append((label, "track_event.properties"))
    if text is not None and attack.key is None:
        service.track_event_sync(text, {"n": 1})
        service.track_performance_sync(text, 1.0, "ms")
        run.cases += [(label, "track_event.event_type"), (label, "track_performance.metric_name")]
    try:
        raise RuntimeError(text if text is not None and attack.key is None else "redteam")
    except RuntimeError as exc:
        service.track_error_sync(exc, _props(attack))
    run.cases += [(label, "track_error.message"), (label, "track_error.context")]
    # Plain OpenTelemetry: the app's own tracer and meter, into the same pipeline.
    tracer = service.tracer
    name = text if text is not None and attack.key is None else "redteam-span"
    with tracer.start_as_current_span(name, attributes=_otel_attrs(attack)) as span:
        span.add_event(name, _otel_attrs(attack))
        span.set_status(Status(StatusCode.ERROR, name))
        try:
            try:
                raise KeyError(name)
            except KeyError as cause:
                error = ValueError(name)
                error.add_note(name)
                raise error from cause
        except ValueError as exc:
            span.record_exception(exc)
        # An exception event written by hand: the "stack trace" is any text the app chose.
        span.add_event("exception", {"exception.type": "RedteamError", "exception.message": name,
                                     "exception.stacktrace": name})  # fmt: skip
    parts = ("name", "attributes", "event", "status", "exception", "exception_event")
    run.cases += [(label, f"otel.span.{part}") for part in parts]
    meter = service.meter_provider.get_meter("redteam")
    counter = meter.create_counter("redteam_counter", unit="1", description=name)
    counter.add(1, _otel_attrs(attack))
    run.cases += [(label, "otel.metric.description"), (label, "otel.metric.attributes")]


def _otel_attrs(attack: Attack) -> dict[str, Any]:
    value = attack.value
    if isinstance(value, list):
        return {attack.key or "detail": tuple(value)}
    return {attack.key or "detail": value}


def _plant_over_http(run: Run, attack: Attack) -> None:
    server, label, text = run.server, attack.label, _text(attack.value)
    with server.client(headers=server.auth) as http:
        http.post(f"{API}/events", json={"event_type": "redteam_rest", "properties": _props(attack)})
        run.cases.append((label, "rest.events.properties"))
        answer = http.post(f"{API}/preview", json={"event_type": "redteam_preview", "properties": _props(attack)})
        run.previews.append(answer.text)
        run.cases.append((label, "preview"))
        if text is not None and attack.key is None:
            http.post(f"{API}/events", json={"event_type": text[:128], "properties": {}})
            http.post(f"{API}/errors", json={"type": "Error", "message": text[:16_000], "stack": text[:16_000]})
            http.post(f"{API}/performance", json={"metric_name": text[:128], "value": 1.0, "unit": "ms"})
            run.cases += [(label, "rest.events.event_type"), (label, "rest.errors"), (label, "rest.performance")]


def _plant_over_otlp(run: Run, attacks: list[Attack]) -> None:
    server = run.server
    provider = TracerProvider(resource=Resource.create({"service.name": "redteam-remote"}))
    exporter = OTLPSpanExporter(endpoint=f"{server.base_url}/v1/traces", headers=server.auth, timeout=30)
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=64))
    tracer = provider.get_tracer("redteam.remote")
    reader = InMemoryMetricReader()
    meters = MeterProvider(resource=Resource.create({"service.name": "redteam-remote"}), metric_readers=[reader])
    counter = meters.get_meter("redteam.remote").create_counter("remote_counter", unit="1")
    for attack in attacks:
        text = _text(attack.value)
        name = text if text is not None and attack.key is None else "remote-span"
        with tracer.start_as_current_span(name, attributes=_otel_attrs(attack)) as span:
            span.add_event(name)
        counter.add(1, _otel_attrs(attack))
        run.cases += [(attack.label, "otlp.span"), (attack.label, "otlp.metric")]
    assert provider.force_flush(30_000)
    data = reader.get_metrics_data()
    assert data is not None
    metric_exporter = OTLPMetricExporter(endpoint=f"{server.base_url}/v1/metrics", headers=server.auth, timeout=30)
    assert metric_exporter.export(data).name == "SUCCESS"
    metric_exporter.shutdown()
    provider.shutdown()
    meters.shutdown()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    home = tmp_path_factory.mktemp("redteam") / "home"
    collector = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    ours = [logging.getLogger(name) for name in ("telemetry", "processors", "exporters", "analytics")]
    for logger in ours:
        logger.setLevel(logging.DEBUG)
    previous_env = os.environ.get("OTEL_RESOURCE_ATTRIBUTES")
    os.environ["OTEL_RESOURCE_ATTRIBUTES"] = RESOURCE_ENV
    try:
        with live_server(home) as server:
            os.environ.pop("OTEL_RESOURCE_ATTRIBUTES", None)
            result = Run(server, logs=collector)
            for attack in ATTACKS:
                _plant_in_process(result, attack)
                _plant_over_http(result, attack)
            _plant_over_otlp(result, list(ATTACKS))
            result.cases.append(("resource", "OTEL_RESOURCE_ATTRIBUTES"))
            server.flush()
            assert server.service.meter_provider.force_flush(30_000)
            server.flush()
            yield result
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
        for logger in ours:
            logger.setLevel(logging.NOTSET)
        if previous_env is None:
            os.environ.pop("OTEL_RESOURCE_ATTRIBUTES", None)
        else:
            os.environ["OTEL_RESOURCE_ATTRIBUTES"] = previous_env


def _stored_text(server: LiveServer) -> str:
    parts = []
    for table in schema.DATA_TABLES:
        for row in server.query(f"SELECT * FROM {table}"):
            parts.append(orjson.dumps(row, default=str).decode())
    return "\n".join(parts)


def _raw_files(server: LiveServer) -> str:
    db = Path(server.service.settings.db_path)
    out = []
    for path in (db, db.with_name(db.name + ".wal")):
        if path.exists():
            raw = path.read_bytes()
            out += [raw.decode("utf-8", "ignore"), raw.decode("latin-1")]
    return "\n".join(out)


def _export(server: LiveServer) -> str:
    with server.client(headers=server.auth) as http:
        answer = http.get(f"{API}/export")
    assert answer.status_code == 200
    return answer.content.decode("utf-8", "ignore")


def _leaks(sources: dict[str, str], needles_of: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    lowered = {name: text.lower() for name, text in sources.items()}
    found = []
    for label, needles in needles_of:
        for needle in needles:
            low = needle.lower()
            for name, text in lowered.items():
                at = text.find(low)
                if at != -1:
                    found.append(f"{label} needle={needle!r} in {name}: ...{text[max(0, at - 60) : at + 60]!r}...")
    return found


def test_no_planted_value_is_stored_exported_logged_or_previewed(run: Run) -> None:
    server = run.server
    stored = _stored_text(server)
    assert "redteam_event" in stored and "remote_counter" in stored  # the channels did deliver
    sources = {
        "duckdb tables": stored,
        "duckdb file and wal bytes": _raw_files(server),
        "export": _export(server),
        "preview answers": "\n".join(run.previews),
        "logs": "\n".join(run.logs.lines),
    }
    needles = [(a.label, a.needles) for a in ATTACKS] + [("OTEL_RESOURCE_ATTRIBUTES", RESOURCE_NEEDLES)]
    leaks = _leaks(sources, needles)
    print(f"\nred-team corpus: {len(ATTACKS)} attacks, {len(run.cases)} cases (attack x channel), {len(leaks)} leaks")
    for leak in leaks[:50]:
        print("  LEAK", leak)
    assert len(run.cases) >= 300
    assert leaks == []


def test_every_channel_was_exercised(run: Run) -> None:
    channels = {channel for _, channel in run.cases}
    expected = {
        "track_event.properties", "track_event.event_type", "track_performance.metric_name", "track_error.message",
        "otel.span.name", "otel.span.exception", "otel.metric.description", "rest.events.properties",
        "rest.errors", "rest.performance", "otlp.span", "otlp.metric", "preview", "OTEL_RESOURCE_ATTRIBUTES",
    }  # fmt: skip
    assert expected <= channels
    rows = run.server.query(f"SELECT count(*) FROM {schema.METRIC_POINTS} WHERE name = 'remote_counter'")
    assert rows[0][0] >= 1
