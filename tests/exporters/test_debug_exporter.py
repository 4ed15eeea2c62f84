"""StderrSpanExporter: debug mode prints exactly what would be stored, one JSON line per span."""

from __future__ import annotations

import io
import logging

import orjson
import pytest
from _exporter_helpers import make_spans, recording_provider
from opentelemetry.sdk.trace.export import SpanExportResult

from exporters.debug import StderrSpanExporter


def test_one_compact_json_line_per_span_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with recording_provider({"session.id": "dbg"}) as (provider, memory):
        span = provider.get_tracer("t").start_span(
            "track_event", attributes={"peft.event_type": "clicked", "peft.redactions": '{"path": 1}'}
        )
        span.add_event("e", {"k": 1})
        span.end()
        provider.get_tracer("t").start_span("second").end()
        spans = memory.get_finished_spans()
    assert StderrSpanExporter().export(spans) == SpanExportResult.SUCCESS
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line == orjson.dumps(orjson.loads(line)).decode() for line in lines)
    first = orjson.loads(lines[0])
    assert (first["name"], first["event_type"], first["session_id"]) == ("track_event", "clicked", "dbg")
    assert first["redactions"] == {"path": 1} and "peft.redactions" not in first["attributes"]
    assert first["events"] == [{"name": "e", "time_ns": first["events"][0]["time_ns"], "attributes": {"k": 1}}]
    assert "resource" not in first


def test_a_broken_stream_fails_the_batch_without_raising(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    stream.close()
    exporter = StderrSpanExporter(stream)
    caplog.set_level(logging.ERROR, logger="exporters.debug")
    assert exporter.export(make_spans(1)) == SpanExportResult.FAILURE
    assert exporter.export(make_spans(1)) == SpanExportResult.FAILURE
    assert len(caplog.records) == 1
    exporter.shutdown()
    assert StderrSpanExporter(io.StringIO()).export(make_spans(2)) == SpanExportResult.SUCCESS
