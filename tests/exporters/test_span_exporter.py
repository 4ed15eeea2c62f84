"""DuckDBSpanExporter: what real SDK spans become in the event log, and failure without raising."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from _exporter_helpers import make_spans, recording_provider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog
from exporters.eventlog.arrow import plain_attributes
from exporters.eventlog.schema import ATTR_REDACTIONS


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    with EventLog(tmp_path / "ev.duckdb") as opened:
        yield opened


def _rows(log: EventLog, sql: str) -> list[dict[str, Any]]:
    with log.reader() as cur:
        result = cur.execute(sql)
        names = [d[0] for d in result.description or []]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_sdk_spans_become_rows_with_lifted_columns(log: EventLog) -> None:
    exporter = DuckDBSpanExporter(log)
    with recording_provider({"session.id": "sess-42", "service.name": "peft"}) as (provider, memory):
        tracer = provider.get_tracer("peft.tests", "2.1")
        with tracer.start_as_current_span(
            "GET /runs/{id}", kind=SpanKind.SERVER, attributes={"http.route": "/runs/{id}"}
        ):
            span = tracer.start_span(
                "track_event",
                attributes={
                    "peft.category": "event",
                    "peft.event_type": "training_started",
                    "model": "llama",
                    "peft.redactions": '{"email": 2}',
                },
            )
            span.add_event("checkpoint", {"step": 10})
            span.end()
            perf = tracer.start_span(
                "perf",
                attributes={
                    "peft.category": "performance",
                    "peft.metric.name": "load",
                    "peft.metric.value": 12,
                },
            )
            perf.set_attribute("peft.metric.unit", "ms")
            perf.end()
            failing = tracer.start_span("fails")
            try:
                raise KeyError("missing")
            except KeyError as exc:
                failing.record_exception(exc)
            failing.set_status(Status(StatusCode.ERROR, "bad"))
            failing.end()
        spans = memory.get_finished_spans()
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert exporter.exported_spans == 4

    rows = {r["name"]: r for r in _rows(log, "SELECT * FROM spans_with_resource")}
    server, event, perf_row, failed = rows["GET /runs/{id}"], rows["track_event"], rows["perf"], rows["fails"]
    root_ctx = spans[-1].context
    assert server["trace_id"] == f"{root_ctx.trace_id:032x}" and server["span_id"] == f"{root_ctx.span_id:016x}"
    assert server["parent_span_id"] is None and event["parent_span_id"] == server["span_id"]
    assert (server["kind"], server["category"], server["event_type"]) == ("SERVER", "http", "GET /runs/{id}")
    assert server["duration_ms"] == pytest.approx((server["end_ns"] - server["start_ns"]) / 1e6)
    assert (event["category"], event["event_type"], event["session_id"]) == (
        "event",
        "training_started",
        "sess-42",
    )
    assert orjson.loads(event["redactions"]) == {"email": 2}
    assert "peft.redactions" not in orjson.loads(event["attributes"])
    assert orjson.loads(event["attributes"])["model"] == "llama"
    assert (event["scope_name"], event["scope_version"]) == ("peft.tests", "2.1")
    assert orjson.loads(event["resource"])["service.name"] == "peft"
    assert (perf_row["metric_name"], perf_row["metric_value"], perf_row["metric_unit"]) == (
        "load",
        12.0,
        "ms",
    )
    assert (failed["category"], failed["status_code"], failed["status_message"]) == ("span", "ERROR", "bad")
    assert failed["error_type"] == "KeyError", "the exception event's type is lifted when error.type is absent"

    events = _rows(log, "SELECT * FROM span_events ORDER BY name")
    assert [(e["name"], e["seq"]) for e in events] == [("checkpoint", 0), ("exception", 0)]
    assert orjson.loads(events[0]["attributes"]) == {"step": 10}
    assert events[0]["span_id"] == event["span_id"]


def test_odd_values_are_stored_safely(log: EventLog) -> None:
    exporter = DuckDBSpanExporter(log)
    spans = make_spans(
        1,
        name="bad \ud800 name",
        attributes={
            "nan": math.nan,
            "inf": -math.inf,
            "big": 2**70,
            "text": "a\ud800b",
            "peft.metric.value": math.nan,
        },
    )
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    (row,) = _rows(log, "SELECT name, attributes, metric_value FROM spans")
    attrs = orjson.loads(row["attributes"])
    assert attrs["nan"] is None and attrs["inf"] is None and attrs["big"] == str(2**70)
    assert "\ud800" not in attrs["text"] and attrs["text"].startswith("a")
    assert row["name"].startswith("bad ") and row["metric_value"] is None


def test_links_dropped_attributes_and_directly_built_spans(log: EventLog) -> None:
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=2))
    exporter = DuckDBSpanExporter(log)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    target = SpanContext(trace_id=0xAB, span_id=0xCD, is_remote=True, trace_flags=TraceFlags(1))
    provider.get_tracer("t").start_span(
        "limited", attributes={"a": 1, "b": 2, "c": 3}, links=[Link(target, {"why": "retry"})]
    ).end()
    provider.shutdown()
    built = ReadableSpan(
        name="built",
        context=SpanContext(trace_id=1, span_id=2, is_remote=False),
        attributes={"plain": "dict"},
        events=[Event("e", {"k": "v"}, timestamp=5)],
        resource=Resource({"session.id": "s"}),
        start_time=10,
        end_time=20,
    )
    # The provider's shutdown shut its exporter down; a fresh one stores the hand-built span.
    assert DuckDBSpanExporter(log).export([built]) == SpanExportResult.SUCCESS
    rows = {r["name"]: r for r in _rows(log, "SELECT * FROM spans_with_resource")}
    assert rows["limited"]["dropped_attributes"] == 1
    assert orjson.loads(rows["limited"]["links"]) == [
        {"trace_id": f"{0xAB:032x}", "span_id": f"{0xCD:016x}", "attributes": {"why": "retry"}}
    ]
    assert (rows["built"]["trace_id"], rows["built"]["span_id"]) == ("0" * 31 + "1", "0" * 15 + "2")
    assert (rows["built"]["duration_ms"], rows["built"]["session_id"]) == (10 / 1e6, "s")
    assert _rows(log, "SELECT time_ns FROM span_events") == [{"time_ns": 5}]


def test_attribute_fast_path_matches_the_public_mapping(log: EventLog) -> None:
    (span,) = make_spans(1, attributes={"x": [1, 2], "y": "z", ATTR_REDACTIONS: '{"key.email": 1}'})
    # Pins the SDK internal the fast path relies on; if it moves, the slow path still gives the same.
    inner = getattr(span._attributes, "_dict", None)  # type: ignore[attr-defined]
    assert type(inner) is dict
    assert plain_attributes(span._attributes) is inner  # type: ignore[attr-defined]
    assert plain_attributes(span.attributes) == dict(span.attributes or {})  # the public, slow way
    # The exporter reads the span's own mapping and takes the redaction count out of its copy only.
    assert DuckDBSpanExporter(log).export([span]) == SpanExportResult.SUCCESS
    assert span.attributes is not None and span.attributes[ATTR_REDACTIONS] == '{"key.email": 1}'
    (row,) = _rows(log, "SELECT attributes, redactions FROM spans")
    assert orjson.loads(row["attributes"]) == {"i": 0, "x": [1, 2], "y": "z"}
    assert orjson.loads(row["redactions"]) == {"key.email": 1}


def test_failures_return_failure_count_log_once_and_never_raise(
    log: EventLog, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[Exception] = []

    def broken_callback(exc: Exception) -> None:
        errors.append(exc)
        raise RuntimeError("callback bug")

    exporter = DuckDBSpanExporter(log, on_error=broken_callback)
    caplog.set_level(logging.DEBUG, logger="exporters.duckdb")
    not_a_span: Any = object()
    assert exporter.export([not_a_span]) == SpanExportResult.FAILURE
    assert exporter.export([not_a_span, not_a_span]) == SpanExportResult.FAILURE
    assert (exporter.failed_batches, exporter.failed_spans, len(errors)) == (2, 3, 2)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    assert exporter.export(make_spans(2)) == SpanExportResult.SUCCESS
    log.close()
    assert exporter.export(make_spans(1)) == SpanExportResult.FAILURE
    exporter.shutdown()
    assert exporter.export([]) == SpanExportResult.FAILURE
    assert exporter.force_flush() is True


def test_failure_logs_never_quote_recorded_values(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cr3t-value-that-must-not-be-logged"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with EventLog(blocker / "ev.duckdb", lock_timeout_s=0.5) as log:
        exporter = DuckDBSpanExporter(log)
        caplog.set_level(logging.DEBUG)
        assert exporter.export(make_spans(1, attributes={"token": secret})) == SpanExportResult.FAILURE
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)


def test_large_batches_round_trip(log: EventLog) -> None:
    exporter = DuckDBSpanExporter(log)
    spans = make_spans(5000, attributes={"k": "v"})
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    sql = "SELECT count(*), count(DISTINCT span_id), sum((attributes->>'i')::INT) FROM spans"
    with log.reader() as cur:
        assert cur.execute(sql).fetchone() == (5000, 5000, sum(range(5000)))


def test_redaction_counts_are_stored_per_span_and_the_spans_stay_untouched(log: EventLog) -> None:
    # Rule-count texts repeat on most spans and are converted once; each row must still get its own.
    texts = ['{"key.email":1}', '{"path.home":2}', '{"key.email":1}', "not json", '["a list"]']
    spans = [
        make_spans(1, attributes={"peft.redactions": text, "model": "m"}, name=f"s{i}")[0]
        for i, text in enumerate(texts)
    ]
    assert DuckDBSpanExporter(log).export(spans) is SpanExportResult.SUCCESS
    rows = {r["name"]: r for r in _rows(log, "SELECT name, redactions, attributes FROM spans")}
    stored = [rows[f"s{i}"]["redactions"] for i in range(len(texts))]
    assert [orjson.loads(s) if s is not None else None for s in stored] == [
        {"key.email": 1},
        {"path.home": 2},
        {"key.email": 1},
        None,
        None,
    ]
    assert all("peft.redactions" not in orjson.loads(rows[f"s{i}"]["attributes"]) for i in range(len(texts)))
    assert all(span.attributes is not None and "peft.redactions" in span.attributes for span in spans)


def test_a_resource_is_stored_once_and_every_span_finds_its_own(log: EventLog) -> None:
    exporter = DuckDBSpanExporter(log)
    linux = make_spans(30, name="a", resource={"os.type": "linux", "session.id": "s1"})
    mac = make_spans(20, name="b", resource={"os.type": "darwin", "session.id": "s2"})
    for batch in (linux[:10], linux[10:] + mac, mac):  # a resource seen again in later batches
        assert exporter.export(batch) == SpanExportResult.SUCCESS
    stored = _rows(log, "SELECT resource_id, attributes FROM resources")
    assert sorted(orjson.loads(r["attributes"])["os.type"] for r in stored) == ["darwin", "linux"]
    rows = _rows(log, "SELECT name, session_id, resource FROM spans_with_resource")
    assert len(rows) == 70
    for row in rows:
        resource = orjson.loads(row["resource"])
        assert resource["os.type"] == ("linux" if row["name"] == "a" else "darwin")
        assert resource["session.id"] == row["session_id"]
    # Erased, the file no longer holds the resource the exporter wrote before: the next batch stores it again.
    log.erase()
    assert exporter.export(linux[:5]) == SpanExportResult.SUCCESS
    rows = _rows(log, "SELECT resource FROM spans_with_resource")
    assert len(rows) == 5 and all(orjson.loads(r["resource"])["os.type"] == "linux" for r in rows)
