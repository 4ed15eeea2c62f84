"""export: OTLP JSON Lines (parsed with json and with the official protobuf classes), Parquet, CSV."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from _cli_helpers import Recorded, Runner, assert_one_line_error
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from exporters.eventlog import schema


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _ids_to_base64(request: dict[str, Any]) -> dict[str, Any]:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping reads base64."""
    for resource_spans in request.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = _b64(span[key])
                for link in span.get("links", []):
                    link["traceId"], link["spanId"] = _b64(link["traceId"]), _b64(link["spanId"])
    return request


def test_otlp_json_parses_with_json_and_protobuf(recorded: Recorded, tmp_path: Path) -> None:
    cli, counts = recorded.run, recorded.counts
    target = tmp_path / "telemetry.jsonl"
    result = cli("export", "--format", "otlp-json", "--output", str(target))
    assert result.code == 0, result.stderr
    assert f"{counts['spans']:,} spans" in result.stdout
    spans = events = 0
    for line in target.read_text().splitlines():
        request = json.loads(line)
        if "resourceSpans" in request:
            message = json_format.Parse(json.dumps(_ids_to_base64(request)), ExportTraceServiceRequest())
            for rs in message.resource_spans:
                for ss in rs.scope_spans:
                    spans += len(ss.spans)
                    events += sum(len(s.events) for s in ss.spans)
                    assert all(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in ss.spans)
        else:
            json_format.Parse(line, ExportMetricsServiceRequest())
    assert spans == counts["spans"]
    assert events == counts["span_events"]
    assert not list(target.parent.glob("*.partial"))


def test_otlp_json_to_stdout(recorded: Recorded) -> None:
    cli = recorded.run
    result = cli("export", "--format", "otlp-json", "--output", "-")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(json.loads(line) for line in lines)
    assert "Exported" in result.stderr
    assert "Warning" not in result.stderr, result.stderr  # e.g. DuckDB's note on copying Arrow output


def test_parquet_one_file_per_table(recorded: Recorded, tmp_path: Path) -> None:
    cli, counts = recorded.run, recorded.counts
    folder = tmp_path / "parquet"
    result = cli("export", "--format", "parquet", "--output", str(folder))
    assert result.code == 0, result.stderr
    for table in schema.DATA_TABLES:
        data = pq.read_table(folder / f"{table}.parquet")
        assert data.num_rows == counts[table], table
        assert tuple(data.column_names) == schema.column_names(table)
    spans = pq.read_table(folder / "spans.parquet").to_pylist()
    assert spans == sorted(spans, key=lambda row: row["start_ns"])
    assert len({(row["trace_id"], row["span_id"]) for row in spans}) == len(spans)
    json.loads(spans[0]["attributes"])


def test_csv_one_file_per_table(recorded: Recorded, tmp_path: Path) -> None:
    cli, counts = recorded.run, recorded.counts
    folder = tmp_path / "csv"
    result = cli("export", "--format", "csv", "--output", str(folder))
    assert result.code == 0, result.stderr
    for table in schema.DATA_TABLES:
        with open(folder / f"{table}.csv", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
        assert tuple(reader.fieldnames or ()) == schema.column_names(table)
        assert len(rows) == counts[table], table
    with open(folder / "metric_points.csv", newline="") as f:
        histograms = [r for r in csv.DictReader(f) if r["kind"] == "histogram"]
    assert histograms  # track_performance feeds histograms; list columns are JSON text in CSV
    for row in histograms:
        assert isinstance(json.loads(row["bucket_counts"]), list)


def test_export_refuses_to_overwrite_without_force(recorded: Recorded, tmp_path: Path) -> None:
    cli = recorded.run
    target = tmp_path / "once.jsonl"
    assert cli("export", "--format", "otlp-json", "--output", str(target)).code == 0
    first = target.read_bytes()
    assert_one_line_error(cli("export", "--format", "otlp-json", "--output", str(target)), "--force")
    assert target.read_bytes() == first
    assert cli("export", "--format", "otlp-json", "--output", str(target), "--force").code == 0
    folder = tmp_path / "tables"
    assert cli("export", "--format", "csv", "--output", str(folder)).code == 0
    assert_one_line_error(cli("export", "--format", "csv", "--output", str(folder)), "--force")
    assert cli("export", "--format", "csv", "--output", str(folder), "--force").code == 0


def test_export_of_an_empty_home(cli: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    result = cli("export", "--format", "parquet", "--output", str(folder))
    assert result.code == 0, result.stderr
    assert pq.read_table(folder / "spans.parquet").num_rows == 0
    target = tmp_path / "empty.jsonl"
    assert cli("export", "--format", "otlp-json", "--output", str(target)).code == 0
    assert target.read_text() == ""
