"""The second red-team corpus through every road into every sink; then grep everything for the needles.

One service on a real uvicorn server and one DuckDB file for the module, started with ``$HOME`` set to the
corpus's home folder (the anonymizer hides the process's own home) and personal data in
OTEL_RESOURCE_ATTRIBUTES. Every attack of _redteam_corpus_2 goes through the first red team's channels
(test_redteam: track_event / track_error / track_performance, plain OTel spans and metrics, the REST intake,
preview, the OTLP receiver) and through places that test does not use: a remote sender's resource
(``process.command_line``, ``process.owner`` ...), instrumentation scope names and attributes, server spans'
``http.target`` / ``url.full``, span links' attributes, trace state, and nested or JSON-text properties.
The sinks searched: every DuckDB table, the DuckDB file's and WAL's bytes, ``export_all``, the preview
answers, every log record, and the fleet hub's lake (a real hub process; its stdout too). Benign look-alikes
of the new shapes must come out unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from _redteam_corpus_2 import (
    _E,
    API_KEY,
    ATTACKS,
    BENIGN,
    CORP,
    EMAIL,
    HOME,
    HOME_USER,
    PASSWORD,
    PERSON,
    RESOURCE_ATTRIBUTES,
    RESOURCE_NEEDLES,
    STRUCTURED,
    USER,
    Attack,
)
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, TraceFlags, TraceState
from test_redteam import (
    API,
    Run,
    _Collect,
    _export,
    _leaks,
    _otel_attrs,
    _plant_in_process,
    _plant_over_http,
    _plant_over_otlp,
    _raw_files,
    _stored_text,
    _text,
)

from tests.fleet._fleet_helpers import start_hub, wait_for
from tests.server.conftest import live_server

#: The service's own resource, as a deployment would set it (values percent-encoded, as the spec asks).
OTEL_ENV = (
    f"process.owner={USER},process.command_line=python%20train.py%20--api-key%3Dplainkey998877,host.user={HOME_USER}"
)
OTEL_ENV_NEEDLES = (USER, "plainkey998877", HOME_USER)


def _remote_context(state_value: str) -> SpanContext:
    state = TraceState([("acct", state_value)])
    return SpanContext(0x5EED0000000000000000000000000001, 0x5EED000000000001, True, TraceFlags(1), state)


def _send_places(endpoint: str, headers: dict[str, str] | None, attacks: tuple[Attack, ...]) -> list[str]:
    """Spans in the places test_redteam does not plant, from a remote sender with a personal resource."""
    provider = TracerProvider(resource=Resource.create(RESOURCE_ATTRIBUTES))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers=headers, timeout=30)))
    cases = []
    parent = trace.set_span_in_context(NonRecordingSpan(_remote_context(USER)))
    for attack in attacks:
        text = _text(attack.value)
        free = text if text is not None and attack.key is None else "redteam"
        tracer = provider.get_tracer(free[:200], "1.0", attributes=_otel_attrs(attack))
        attrs: dict[str, Any] = {"http.target": free, "url.full": free, "http.route": "/users/{user}"}
        link = Link(_remote_context(USER), _otel_attrs(attack))
        with tracer.start_as_current_span(free, parent, SpanKind.SERVER, attrs, links=[link]) as span:
            span.add_event(free, _otel_attrs(attack))
        cases += [f"{attack.label}: scope", f"{attack.label}: server span", f"{attack.label}: link"]
    provider.shutdown()
    return cases


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    import logging

    collector = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.INFO)
    saved = {name: os.environ.get(name) for name in ("HOME", "OTEL_RESOURCE_ATTRIBUTES")}
    os.environ["HOME"] = HOME  # the anonymizer reads the process's home folder once, when it is built
    os.environ["OTEL_RESOURCE_ATTRIBUTES"] = OTEL_ENV
    try:
        with live_server(tmp_path_factory.mktemp("redteam2") / "home") as server:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            result = Run(server, logs=collector)
            for attack in ATTACKS:
                _plant_in_process(result, attack)
                _plant_over_http(result, attack)
            _plant_over_otlp(result, list(ATTACKS))
            places = _send_places(f"{server.base_url}/v1/traces", server.auth, ATTACKS)
            result.cases += [(case, "otlp.places") for case in places]
            with server.client(headers=server.auth) as http:
                for attack in ATTACKS:  # a frontend error: the type and a JavaScript frame are the attack
                    text = _text(attack.value)
                    if text is not None and attack.key is None:
                        stack = f"Error: x\n    at handler ({text}:10:5)\n    at {text}"
                        http.post(f"{API}/errors", json={"type": text[:200], "message": "x", "stack": stack})
                        result.cases.append((attack.label, "rest.errors.type_and_js_frame"))
                for label, props, _ in STRUCTURED:
                    server.service.track_event_sync("redteam2_structured", props)
                    http.post(f"{API}/events", json={"event_type": "redteam2_rest", "properties": props})
                    answer = http.post(f"{API}/preview", json={"event_type": "redteam2", "properties": props})
                    result.previews.append(answer.text)
                    result.cases += [(label, "track_event.nested"), (label, "rest.nested"), (label, "preview")]
                for i, value in enumerate(BENIGN):
                    server.service.track_event_sync("redteam2_benign", {"case": f"b{i}", "value": value})
            server.flush()
            assert server.service.meter_provider.force_flush(30_000)
            server.flush()
            yield result
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _needles() -> list[tuple[str, tuple[str, ...]]]:
    return (
        [(a.label, a.needles) for a in ATTACKS]
        + [(f"structured:{label}", needles) for label, _, needles in STRUCTURED]
        + [("remote resource", RESOURCE_NEEDLES), ("OTEL_RESOURCE_ATTRIBUTES", OTEL_ENV_NEEDLES)]
    )


def test_no_planted_value_is_stored_exported_logged_or_previewed(run: Run) -> None:
    server = run.server
    stored = _stored_text(server)
    # The roads delivered: the remote resource, the scopes and the nested properties are in the file.
    assert "redteam-two" in stored and "redteam2_structured" in stored and "remote_counter" in stored
    sources = {
        "duckdb tables": stored,
        "duckdb file and wal bytes": _raw_files(server),
        "export": _export(server),
        "preview answers": "\n".join(run.previews),
        "logs": "\n".join(run.logs.lines),
    }
    leaks = _leaks(sources, _needles())
    print(f"\nred-team corpus 2: {len(ATTACKS)} attacks, {len(run.cases)} cases, {len(leaks)} leaks")
    for leak in leaks[:50]:
        print("  LEAK", leak)
    assert len(run.cases) >= 1000
    assert leaks == []


def test_useful_parts_of_scrubbed_places_survive(run: Run) -> None:
    """Scrubbing removes the personal part only: the command line keeps its script and flags."""
    rows = run.server.query("SELECT attributes FROM resources")
    resources = "\n".join(str(r[0]) for r in rows)
    assert "train.py --api-key=<redacted>" in resources
    assert "redteam-two" in resources


def test_benign_look_alikes_are_stored_unchanged(run: Run) -> None:
    rows = run.server.spans("name = 'redteam2_benign'")
    stored = {r["attributes"]["case"]: r["attributes"].get("value") for r in rows}
    changed = {BENIGN[int(k[1:])]: v for k, v in stored.items() if v != BENIGN[int(k[1:])]}
    assert len(stored) == len(BENIGN)
    assert changed == {}


def _lake_text(lake: Path) -> str:
    parts = []
    for path in sorted(lake.rglob("*.parquet")):
        for row in duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall():
            parts.append(repr(row))
    return "\n".join(parts)


def test_the_fleet_lake_holds_none_of_it(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "lake")
    try:
        cases = _send_places(f"{hub.endpoint}/v1/traces", None, ATTACKS)
        wait_for(lambda: len(_lake_text(hub.lake).splitlines()) >= len(ATTACKS), "the lake to hold the spans")
        lake = _lake_text(hub.lake)
        httpx.get(f"http://127.0.0.1:{hub.port}/healthz", timeout=5)
        hub.process.terminate()
        hub.process.wait(30)
        assert hub.process.stdout is not None
        output = hub.process.stdout.read()
    finally:
        hub.stop()
    assert "redteam-two" in lake and len(cases) == 3 * len(ATTACKS)
    leaks = _leaks({"lake": lake, "hub output": output}, [*_needles()[: len(ATTACKS)], ("resource", RESOURCE_NEEDLES)])
    for leak in leaks[:50]:
        print("  LEAK", leak)
    assert leaks == []


def _kv(key: str, **value: Any) -> Any:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    return KeyValue(key=key, value=AnyValue(**value))


def _raw_requests() -> tuple[bytes, bytes]:
    """OTLP fields the SDK exporters never fill but any sender may: bytes and kvlist values, schema URLs,
    raw trace state, metric names, units and descriptions, exemplars' filtered attributes."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    start = 1_700_000_000_000_000_000
    traces = ExportTraceServiceRequest()
    spans = traces.resource_spans.add()
    spans.schema_url = f"https://{EMAIL}/schema"
    owner = _kv(EMAIL, string_value="x")
    spans.resource.attributes.extend(
        [_kv("service.name", string_value="raw"), _kv("deploy", kvlist_value={"values": [owner]})]
    )
    scoped = spans.scope_spans.add()
    scoped.scope.name, scoped.scope.version, scoped.schema_url = f"scope {EMAIL}", USER, f"https://{CORP}.lan/s"
    span = scoped.spans.add()
    span.trace_id, span.span_id, span.name, span.trace_state = b"\x01" * 16, b"\x02" * 8, "raw", f"acct={USER}"
    span.start_time_unix_nano, span.end_time_unix_nano = start, start + 1000
    listed = AnyValue(string_value=EMAIL)
    contact = _kv("contact", kvlist_value={"values": [_kv("email", string_value=EMAIL)]})
    span.attributes.extend([
        _kv("blob", bytes_value=f"password={PASSWORD}".encode()),
        _kv("mixed", array_value={"values": [AnyValue(int_value=1), listed]}),
        _kv("nested", kvlist_value={"values": [contact]}),
        _kv("argv", array_value={"values": [AnyValue(string_value="--api-key"), AnyValue(string_value=API_KEY)]}),
    ])  # fmt: skip
    span.status.message = f"failed for {EMAIL}\nsecond line {USER}"
    link = span.links.add()
    link.trace_id, link.span_id, link.trace_state = b"\x03" * 16, b"\x04" * 8, f"u={USER}"
    link.attributes.extend([_kv("k", string_value=f"--password {PASSWORD}")])
    metrics = ExportMetricsServiceRequest()
    scope = metrics.resource_metrics.add().scope_metrics.add()
    scope.scope.name = USER
    metric = scope.metrics.add()
    metric.name, metric.description, metric.unit = f"train.{EMAIL}", f"by {PERSON}", USER
    metric.sum.aggregation_temporality, metric.sum.is_monotonic = 2, True
    point = metric.sum.data_points.add()
    point.as_int, point.time_unix_nano = 1, start
    point.attributes.extend([_kv("path", string_value=f"/home/{USER}/x"), _kv(EMAIL, string_value="1")])
    exemplar = point.exemplars.add()
    exemplar.as_int, exemplar.time_unix_nano = 1, start
    exemplar.filtered_attributes.extend([_kv("q", string_value=EMAIL)])
    return traces.SerializeToString(), metrics.SerializeToString()


def test_raw_otlp_fields_hold_none_of_it(tmp_path: Path) -> None:
    traces, metrics = _raw_requests()
    with live_server(tmp_path / "home") as server:
        headers = {**server.auth, "content-type": "application/x-protobuf"}
        with server.client(headers=headers) as http:
            assert http.post("/v1/traces", content=traces).status_code == 200
            assert http.post("/v1/metrics", content=metrics).status_code == 200
        server.flush()
        stored = _stored_text(server)
        sources = {"duckdb tables": stored, "duckdb bytes": _raw_files(server), "export": _export(server)}
    assert '"raw"' in stored and "<email>" in stored  # delivered, and scrubbed rather than dropped
    leaks = _leaks(sources, [("raw otlp", (*_E, USER, PASSWORD, API_KEY, CORP, "Wojciechowska"))])
    assert leaks == []
