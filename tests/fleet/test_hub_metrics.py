"""Metric points through the hub (lake schema 2): OpenTelemetry's own OTLP/HTTP metric exporter sends points
with personal data in names and attributes; the hub anonymizes them again, stores them once even when a
batch is resent, deletes an install's points with its spans, refuses hostile bodies, and still reads a
lake of schema 1."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from _fleet_helpers import (
    Hub,
    cli,
    install_id_of,
    query_lake,
    send_with_official_exporter,
    share_status,
    start_install,
    wait_for,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from exporters.lake import METRICS_DIR, lake_files

PLANTED = ("bob@example.com", "alice.smith", "/home/alice", "4111 1111 1111 1111")


def _points(install_key: bytes | None, version: str = "2.0") -> Any:
    """One install's metrics, collected once (so they can be sent twice, as a retry would)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource

    attributes: dict[str, Any] = {"service.version": version, "os.type": "linux", "user.email": "bob@example.com"}
    if install_key is not None:
        attributes["peft.share.install_id"] = install_id_of(install_key)
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=Resource.create(attributes), metric_readers=[reader])
    meter = provider.get_meter("fleet-test")
    steps = meter.create_counter("training_steps", unit="1", description="steps run by alice.smith")
    latency = meter.create_histogram("step_time", unit="ms")
    personal = {"user": "bob@example.com", "file": "/home/alice/data.csv", "card": "4111 1111 1111 1111"}
    steps.add(7, {"algorithm": "lora", **personal})
    steps.add(3, {"algorithm": "qlora"})
    for value in (10.0, 20.0, 30.0):
        latency.record(value, {"algorithm": "lora", "note": "mail bob@example.com"})
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def _send(endpoint: str, data: Any) -> None:
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import MetricExportResult

    exporter = OTLPMetricExporter(endpoint=endpoint + "/v1/metrics")
    assert exporter.export(data) == MetricExportResult.SUCCESS
    exporter.shutdown()


def _metric_rows(lake: Path) -> list[dict[str, Any]]:
    files = [str(p) for p in lake_files(lake, METRICS_DIR)]
    if not files:
        return []
    result = duckdb.sql(f"SELECT * FROM read_parquet({files!r}, union_by_name = true)")
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_points_are_stored_anonymized_and_a_resend_counts_once(hub: Hub) -> None:
    for index in range(6):
        data = _points(f"key-{index}".encode())
        _send(hub.endpoint, data)
        _send(hub.endpoint, data)  # the same batch again (a retry after a lost answer)
    rows = _metric_rows(hub.lake)
    assert {r["install_id"] for r in rows} == {install_id_of(f"key-{i}".encode()) for i in range(6)}
    assert len(rows) == 6 * 3  # two counter points and one histogram point per install, each stored once
    assert {r["app_version"] for r in rows} == {"2.0"} and {r["os_type"] for r in rows} == {"linux"}
    text = json.dumps(rows, default=str)
    for planted in PLANTED:  # anonymized again at the hub: names, descriptions, attributes, resource
        assert planted not in text
    assert "peft.share.install_id" not in text  # taken out of the resource, stored in its own column
    for path in (hub.lake / METRICS_DIR).rglob("*.parquet"):
        raw = path.read_bytes()
        assert not any(p.encode() in raw for p in PLANTED)
    assert all(p.parent.name.startswith("day=") for p in lake_files(hub.lake, METRICS_DIR))

    _send(hub.endpoint, _points(b"key-0"))  # a later collection of install 0: new points, counted
    answer = query_lake(hub.lake, "metrics")
    by_name = {(m["name"], m["unit"]): m for m in answer["metrics"]}
    steps = by_name[("training_steps", "1")]
    assert steps["installs"] == 6 and steps["points"] == 6 * 2 + 2 and steps["total"] == 6 * 10 + 10
    latency = by_name[("step_time", "ms")]
    assert latency["points"] == 7 and latency["mean"] == 20.0 and (latency["min"], latency["max"]) == (10.0, 30.0)
    assert query_lake(hub.lake, "metrics", "--min-installs", "7")["metrics"] == []
    assert query_lake(hub.lake, "metrics", "--min-installs", "7")["suppressed"]["metrics"] == 2


def test_a_resend_to_a_restarted_hub_still_counts_once(tmp_path: Path) -> None:
    from _fleet_helpers import start_hub

    data = _points(b"key-r")
    for _ in range(2):  # two hub processes in turn: the second one's in-memory dedupe starts empty
        hub = start_hub(tmp_path / "lake")
        try:
            _send(hub.endpoint, data)
        finally:
            hub.stop()
    assert len(_metric_rows(tmp_path / "lake")) == 6  # both copies on disk ...
    answer = query_lake(tmp_path / "lake", "metrics", "--min-installs", "1")
    assert sum(m["points"] for m in answer["metrics"]) == 3  # ... counted once


def test_deletion_removes_the_installs_points_and_refuses_more(hub: Hub) -> None:
    keys = [bytes([index]) * 32 for index in range(2)]
    for key in keys:
        _send(hub.endpoint, _points(key))
        send_with_official_exporter(hub.endpoint, key, 2)
    gone = install_id_of(keys[0])
    answer = httpx.post(hub.endpoint + "/v1/delete", json={"deletion_key": keys[0].hex()})
    assert answer.status_code == 200 and answer.json()["removed_rows"] == 3 + 2
    assert {r["install_id"] for r in _metric_rows(hub.lake)} == {install_id_of(keys[1])}
    body = ExportMetricsServiceRequest()
    _encode_into(body, _points(keys[0]))
    refused = httpx.post(hub.endpoint + "/v1/metrics", content=body.SerializeToString(),
                         headers={"content-type": "application/x-protobuf"})  # fmt: skip
    assert refused.status_code == 400 and "deleted" in refused.json()["detail"]
    assert gone not in {r["install_id"] for r in _metric_rows(hub.lake)}


def _encode_into(request: ExportMetricsServiceRequest, data: Any) -> None:
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

    request.CopyFrom(encode_metrics(data))


def _request(mutate: Any = None) -> bytes:
    request = ExportMetricsServiceRequest()
    _encode_into(request, _points(b"key-h"))
    if mutate is not None:
        mutate(request)
    return request.SerializeToString()


def _nan_everywhere(request: ExportMetricsServiceRequest) -> None:
    for metric in request.resource_metrics[0].scope_metrics[0].metrics:
        kind = metric.WhichOneof("data")
        for point in getattr(metric, kind).data_points:
            if kind == "sum":
                point.as_double = float("nan")
            else:
                point.bucket_counts.append(1)  # one bucket too many


def _summary_only(request: ExportMetricsServiceRequest) -> None:
    scope = request.resource_metrics[0].scope_metrics[0]
    del scope.metrics[:]
    scope.metrics.add(name="s").summary.data_points.add(count=1)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\xff\xfe not protobuf", {}, 400),
        (b"{not json", {"content-type": "application/json"}, 400),
        (b'{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": 5}]}]}]}',
         {"content-type": "application/json"}, 400),
        (_request(_nan_everywhere), {}, 400),  # every point invalid: nothing accepted
        (_request(_summary_only), {}, 400),
        (gzip.compress(b"\x00" * (40 * 1024 * 1024)), {"content-encoding": "gzip"}, 413),
        (_request(), {"content-type": "text/plain"}, 415),
    ],
)  # fmt: skip
def test_hostile_metric_bodies_get_4xx_and_store_nothing(
    hub: Hub, body: bytes, headers: dict[str, str], status: int
) -> None:
    sent = {"content-type": "application/x-protobuf", **headers}
    answer = httpx.post(hub.endpoint + "/v1/metrics", content=body, headers=sent, timeout=30)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"]
    assert not [p for p in (hub.lake / METRICS_DIR).rglob("*") if p.is_file()]


def test_a_schema_1_lake_stays_readable_and_is_brought_forward(tmp_path: Path) -> None:
    from exporters.lake import LAKE_SCHEMA_VERSION, LakeWriter

    lake = tmp_path / "lake"
    send_lake = tmp_path / "spans-only"
    from _fleet_helpers import start_hub

    hub = start_hub(send_lake)
    try:
        send_with_official_exporter(hub.endpoint, b"old-install", 3)
    finally:
        hub.stop()
    # What a version-1 hub left: spans, a _lake.json of version 1, no metrics folder.
    (send_lake / METRICS_DIR).rmdir()
    meta = json.loads((send_lake / "_lake.json").read_text())
    meta.pop("metrics")
    (send_lake / "_lake.json").write_text(json.dumps({**meta, "lake_schema_version": 1}))
    send_lake.rename(lake)
    assert query_lake(lake, "summary", "--min-installs", "1")["totals"]["events"] == 3
    assert query_lake(lake, "metrics", "--min-installs", "1")["metrics"] == []
    LakeWriter(lake)  # a new hub on the old lake
    assert json.loads((lake / "_lake.json").read_text())["lake_schema_version"] == LAKE_SCHEMA_VERSION == 2
    assert query_lake(lake, "summary", "--min-installs", "1")["totals"]["events"] == 3


def test_a_sharing_install_sends_its_metric_points(hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "install"
    cli(home, "enable")
    cli(home, "share", "enable", "--endpoint", hub.endpoint)
    install_id = share_status(home)["install_id"]
    process = start_install(home, 20, 60, tag="metrics", PEFT_TELEMETRY_METRICS_INTERVAL_S="0.2")

    def step_time_points() -> list[dict[str, Any]]:
        return [r for r in _metric_rows(hub.lake) if r["install_id"] == install_id and r["name"] == "step_time"]

    try:
        wait_for(lambda: bool(step_time_points()) and share_status(home)["sent_points"] > 0, "the install's points")
    finally:
        process.terminate()
        process.wait(30)
    newest = max(step_time_points(), key=lambda r: r["time_ns"])
    assert newest["kind"] == "histogram" and newest["unit"] == "ms" and newest["count"] >= 1
    assert newest["min"] >= 10.0 and newest["max"] <= 29.0  # the values recorded, through OTLP and back
    assert "alice@example.com" not in json.dumps(_metric_rows(hub.lake), default=str)


def test_compaction_and_deletion_cover_metric_points(tmp_path: Path) -> None:
    import hashlib

    import pyarrow as pa

    from exporters.lake import LAKE_METRICS_ARROW, LakeWriter, compact_day, delete_install

    lake = tmp_path / "lake"
    day_ns = 1_790_000_000 * 10**9
    owners = [hashlib.sha256(f"key-{i}".encode()).hexdigest() for i in range(3)]

    def points(owner: str) -> pa.Table:
        return pa.Table.from_pylist([
            {"share_id": f"{owner}:{i}", "install_id": owner, "name": "gpu_memory", "unit": "MiB", "kind": "gauge",
             "time_ns": day_ns + i, "value": float(i), "received_ns": i, "hub_id": "h"} for i in range(5)
        ], LAKE_METRICS_ARROW)  # fmt: skip

    for owner in owners:
        writer = LakeWriter(lake)
        writer.write_metrics(points(owner))
        writer.write_metrics(points(owner))  # a retried batch, written by the hub as it came
    assert sum(m["points"] for m in query_lake(lake, "metrics", "--min-installs", "1")["metrics"]) == 15
    assert delete_install(lake, owners[0]) == 10
    day = lake_files(lake, METRICS_DIR)[0].parent.name.split("=")[1]
    assert compact_day(lake, day, kind=METRICS_DIR) == (4, 10)  # duplicates gone, deleted install gone
    assert len(lake_files(lake, METRICS_DIR)) == 1 and not lake_files(lake)  # the spans folder untouched
    answer = query_lake(lake, "metrics", "--min-installs", "1")["metrics"]
    assert [(m["points"], m["installs"], m["total"]) for m in answer] == [(10, 2, 20.0)]


def _first_point_nan(request: ExportMetricsServiceRequest) -> None:
    for metric in request.resource_metrics[0].scope_metrics[0].metrics:
        if metric.WhichOneof("data") == "sum":
            metric.sum.data_points[0].as_double = float("nan")
            return


def test_a_partly_bad_body_stores_the_rest_and_says_what_was_rejected(hub: Hub) -> None:
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse

    answer = httpx.post(hub.endpoint + "/v1/metrics", content=_request(_first_point_nan),
                        headers={"content-type": "application/x-protobuf"})  # fmt: skip
    assert answer.status_code == 200
    partial = ExportMetricsServiceResponse.FromString(answer.content).partial_success
    assert partial.rejected_data_points == 1 and "NaN" in partial.error_message
    assert len(_metric_rows(hub.lake)) == 2


def test_points_the_anonymizer_cannot_handle_are_dropped_not_stored(tmp_path: Path) -> None:
    # A hub secret too short to hash with: every metric with a hashed key (user_id) fails to scrub.
    from exporters.lake import LakeWriter
    from processors.anonymizer import Anonymizer, PrivacyPolicy
    from telemetry.hub.ingest import HubIngest
    from telemetry.hub.ingest_metrics import HubMetricsIngest

    ingest = HubIngest(LakeWriter(tmp_path / "lake"), Anonymizer(PrivacyPolicy(), secret=lambda: b"short"))
    points = HubMetricsIngest(ingest)
    request = ExportMetricsServiceRequest()
    _encode_into(request, _points(b"key-a"))
    for metric in request.resource_metrics[0].scope_metrics[0].metrics:
        kind = metric.WhichOneof("data")
        for point in getattr(metric, kind).data_points:
            attribute = point.attributes.add(key="user_id")
            attribute.value.string_value = "bob"
    result = points.metrics(request)
    assert result.stored == 0 and result.rejected == 3 and points.dropped_anonymizer_failed == 3
    assert not lake_files(tmp_path / "lake", METRICS_DIR)
