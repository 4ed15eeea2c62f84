"""The hub's direct road (protobuf -> plain values -> anonymizer -> Arrow) stores what the SDK-span road
(``convert_traces`` -> ``Anonymizer.scrub_span`` -> ``spans_to_arrow``) stored, column by column, for the
red-team and benign ML corpora; rejects what the receiver rejects, with the same reasons; and fails closed
when the anonymizer fails. In process, real Parquet lakes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from _fleet_helpers import Hub, lake_rows
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from bench.bench_hub_ingest import request_bytes, sdk_road
from exporters.lake import INSTALL_ATTRIBUTE, LakeWriter, lake_files
from processors.anonymizer import Anonymizer, PrivacyPolicy
from telemetry.hub.ingest import HubIngest
from telemetry.hub.lake_rows import LakeRows, Rows
from telemetry.server.otlp_convert import convert_traces
from tests.privacy._benign_ml_corpus import ERRORS, VALUES
from tests.privacy._redteam_corpus import ATTACKS, RESOURCE_ENV

SECRET = b"0123456789abcdef0123456789abcdef"
_FLAGS = TraceFlags(TraceFlags.SAMPLED)
_LATER = ("received_ns", "hub_id")


def _install(index: int) -> str:
    return hashlib.sha256(f"install-{index}".encode()).hexdigest()


def _corpus_spans() -> list[ReadableSpan]:
    """Every attack and benign value in every channel a lake row carries: span attributes (under its key or a
    free key), names, status messages, exception events, links, trace state, resources and scopes."""
    planted = dict(pair.split("=", 1) for pair in RESOURCE_ENV.split(","))
    resources = [
        Resource({"service.name": "peft-studio", "service.version": "2.0", "os.type": "linux", **planted,
                  "session.id": "s" * 32, INSTALL_ATTRIBUTE: _install(0)}),
        Resource({"service.name": "peft-studio", "service.version": "1.0", "os.type": "darwin",
                  "user_id": "alice", INSTALL_ATTRIBUTE: _install(1)}, "https://opentelemetry.io/schemas/1.21.0"),
        Resource({"service.name": "other-sender"}),  # not an install: install_id NULL
    ]  # fmt: skip
    scopes = [
        InstrumentationScope("peft_studio.telemetry", "0.9.0"),
        InstrumentationScope("/home/jsmithers/plugins/tracer", "1.0", None, {"owner": "siobhan.okonkwo@example.com"}),
    ]
    values: list[Any] = [a.value for a in ATTACKS] + list(VALUES)
    keys = [a.key or "note" for a in ATTACKS] + ["note"] * len(VALUES)
    spans = []
    for index, (key, value) in enumerate(zip(keys, values, strict=True)):
        trace_id = int.from_bytes(hashlib.md5(str(index).encode()).digest(), "big")
        state = TraceState([("vendor", "ok"), ("user", "jsmithers-laptop")]) if index % 7 == 0 else None
        context = SpanContext(trace_id, index + 1, False, _FLAGS, state)
        parent = SpanContext(trace_id, index + 10_000, True, _FLAGS) if index % 3 == 0 else None
        text = value if isinstance(value, str) else str(value)
        attributes: dict[str, Any] = {key: value, "peft.category": "event", "peft.event_type": "model_loaded",
                                      "lora_r": 16, "learning_rate": 2e-4, "fp16": True}  # fmt: skip
        events: tuple[Event, ...] = ()
        status, kind, name = Status(StatusCode.UNSET), SpanKind.INTERNAL, "model_loaded"
        shape = index % 5
        if shape == 1:  # an error: the value as exception message and status, a benign trace
            error, _ = ERRORS[index % len(ERRORS)]
            events = (Event("exception", {"exception.type": "ValueError", "exception.message": text,
                                          "exception.stacktrace": f"Traceback:\n{error}\n{text}"}, 5),)  # fmt: skip
            status, attributes["peft.category"] = Status(StatusCode.ERROR, f"{text}\nsecond line"), "error"
        elif shape == 2:  # the value as the span's name, a metric span
            name = text[:500]
            attributes.update({"peft.category": "metric", "peft.metric_name": "api_response_time",
                               "peft.metric_value": 12.5, "peft.metric_unit": "ms"})  # fmt: skip
        elif shape == 3:  # nested values, a server span, a link carrying the value
            attributes.update({"http.route": "/v1/models/{id}", "config": '{"user": "jsmithers", "r": 8}'})
            del attributes["peft.category"]
            kind = SpanKind.SERVER
        links = (Link(SpanContext(trace_id, 99, True, _FLAGS), {"why": text}),) if shape == 3 else ()
        spans.append(ReadableSpan(name, context, parent, resources[index % 3], attributes, events, links, kind,
                                  None, status, 1_790_000_000 * 10**9 + index, 1_790_000_001 * 10**9 + index,
                                  scopes[index % 2]))  # fmt: skip
    return spans


def _rows(table: Any) -> list[dict[str, Any]]:
    rows = [{k: v for k, v in row.items() if k not in _LATER} for row in table.to_pylist()]
    return sorted(rows, key=lambda row: row["share_id"])


def _direct(body: bytes, anonymizer: Anonymizer) -> tuple[Any, Rows]:
    from telemetry.hub._shared import take_install_id as _take_install_id

    out, converter = Rows(), LakeRows(anonymizer)
    for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
        converter.add(resource_spans, _take_install_id(resource_spans.resource.attributes), out)
    return out.table(1, "hub"), out


def test_the_direct_road_stores_what_the_sdk_road_stored_column_by_column() -> None:
    body = encode_spans(_corpus_spans()).SerializeToString()
    direct, _ = _direct(body, Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    road = sdk_road(ExportTraceServiceRequest.FromString(body), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    assert direct.schema == road.schema
    # Both keep every span but the one whose name is over the receiver's limit (a 10,500-character attack).
    assert direct.num_rows == road.num_rows == len(ATTACKS) + len(VALUES) - 1
    expected, got = _rows(road), _rows(direct)
    for column in direct.schema.names:
        if column not in _LATER:
            assert [r[column] for r in got] == [r[column] for r in expected], column
    # The comparison is not vacuous: the corpus made the anonymizer work in every channel.
    assert sum(r["redactions"] is not None for r in got) > len(ATTACKS)
    assert {r["install_id"] for r in got} == {_install(0), _install(1), None}
    assert {r["category"] for r in got} == {"event", "error", "metric", "http"}
    assert all("okonkwo" not in (r["resource"] or "").lower() for r in got)


def test_realistic_requests_are_equal_too_and_repeat_from_the_caches() -> None:
    direct_anon = Anonymizer(PrivacyPolicy(), secret=lambda: SECRET)
    road_anon = Anonymizer(PrivacyPolicy(), secret=lambda: SECRET)
    for install in range(3):  # the second and third use the cached resources of the converter's anonymizer
        body = request_bytes(install, 64)
        direct, _ = _direct(body, direct_anon)
        road = sdk_road(ExportTraceServiceRequest.FromString(body), road_anon)
        assert _rows(direct) == _rows(road)


def _bad_request() -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    spans = resource_spans.scope_spans.add().spans
    for index, (trace_id, span_id, start, name) in enumerate([
        (b"\x01" * 16, b"\x02" * 8, 10, "fine"),
        (b"\x00" * 16, b"\x02" * 8, 10, "zero trace id"),
        (b"\x01" * 15, b"\x02" * 8, 10, "short trace id"),
        (b"\x01" * 16, b"\x02" * 7, 10, "short span id"),
        (b"\x01" * 16, b"\x03" * 8, 0, "no start"),
        (b"\x01" * 16, b"\x04" * 8, 10, "nul \x00 in the name"),
        (b"\x01" * 16, b"\x05" * 8, 10, "x" * 2000),
    ]):  # fmt: skip
        span = spans.add()
        span.trace_id, span.span_id, span.name = trace_id, span_id, name
        span.start_time_unix_nano, span.end_time_unix_nano = start, start + index
    bad = spans.add()
    bad.trace_id, bad.span_id, bad.name, bad.start_time_unix_nano, bad.end_time_unix_nano = (
        b"\x01" * 16, b"\x06" * 8, "nan", 10, 20,
    )  # fmt: skip
    attribute = bad.attributes.add()
    attribute.key, attribute.value.double_value = "loss", float("nan")
    broken = request.resource_spans.add()  # a resource with too many attributes: all its spans rejected
    for index in range(200):
        kv = broken.resource.attributes.add()
        kv.key, kv.value.int_value = f"k{index}", index
    span = broken.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.start_time_unix_nano, span.end_time_unix_nano = b"\x07" * 16, b"\x07" * 8, 1, 2
    return request.SerializeToString()


def test_rejections_and_their_reasons_are_the_receivers() -> None:
    body = _bad_request()
    _, rows = _direct(body, Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    expected_rejected, expected_reasons = 0, set()
    for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
        request = ExportTraceServiceRequest()
        request.resource_spans.append(resource_spans)
        converted = convert_traces(request)
        if converted.rejected:
            expected_rejected += converted.rejected
            expected_reasons.add(converted.message)
    assert (rows.rejected, rows.reasons) == (expected_rejected, expected_reasons)
    assert rows.rejected == 8 and len(rows.rows) == 1


def _hashed_request() -> bytes:
    resource = Resource({"service.name": "x", INSTALL_ATTRIBUTE: _install(5)})
    hashed = Resource({"service.name": "y", "user_id": "alice", INSTALL_ATTRIBUTE: _install(6)})
    scope = InstrumentationScope("s")
    spans = []
    for index in range(6):
        attributes: dict[str, Any] = {"peft.category": "event", "note": "siobhan.okonkwo@example.com"}
        if index % 2:
            attributes["user_id"] = "alice-raw-id"  # hashing needs the secret, which is broken
        context = SpanContext(10 + index, 20 + index, False, _FLAGS)
        owner = hashed if index == 4 else resource
        spans.append(ReadableSpan("e", context, None, owner, attributes, (), (), SpanKind.INTERNAL, None,
                                  Status(StatusCode.UNSET), 10**18, 10**18 + 1, scope))  # fmt: skip
    return encode_spans(spans).SerializeToString()


def test_privacy_fails_closed_a_span_the_anonymizer_cannot_scrub_is_dropped_and_counted(tmp_path: Path) -> None:
    # A real runtime fault: a secret too short makes hashing raise, so spans holding an id to hash (in
    # their attributes or in their resource) cannot be anonymized.
    ingest = HubIngest(LakeWriter(tmp_path / "lake"), Anonymizer(PrivacyPolicy(), secret=lambda: b"short"))
    result = ingest.traces(ExportTraceServiceRequest.FromString(_hashed_request()))
    assert (result.stored, result.rejected) == (2, 4)
    assert result.reasons == {"a span could not be anonymized"}
    assert ingest.dropped_anonymizer_failed == 4
    stored = pq.read_table(lake_files(tmp_path / "lake")).to_pylist()
    assert len(stored) == 2
    text = repr(stored)
    assert "alice" not in text and "okonkwo" not in text and "user_id" not in text
    assert {row["install_id"] for row in stored} == {_install(5)}


def test_deleted_installs_and_retries_are_refused_as_before(tmp_path: Path) -> None:
    ingest = HubIngest(LakeWriter(tmp_path / "lake"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    body = request_bytes(0, 16)
    first = ingest.traces(ExportTraceServiceRequest.FromString(body))
    again = ingest.traces(ExportTraceServiceRequest.FromString(body))
    assert (first.stored, first.duplicates, again.stored, again.duplicates) == (16, 0, 0, 16)
    from bench.bench_hub_ingest import install_id

    ingest.deleted.add(install_id(1))
    refused = ingest.traces(ExportTraceServiceRequest.FromString(request_bytes(1, 8)))
    assert (refused.stored, refused.rejected) == (0, 8)
    assert pq.read_table(lake_files(tmp_path / "lake")).num_rows == 16


@pytest.mark.parametrize("install", [None, "not-a-hex-id"])
def test_a_missing_or_malformed_install_id_is_stored_as_null(tmp_path: Path, install: str | None) -> None:
    attributes = {"service.name": "x"} | ({INSTALL_ATTRIBUTE: install} if install else {})
    span = ReadableSpan("e", SpanContext(1, 2, False, _FLAGS), None, Resource(attributes), {}, (), (),
                        SpanKind.INTERNAL, None, Status(StatusCode.UNSET), 10**18, 10**18 + 1,
                        InstrumentationScope("s"))  # fmt: skip
    ingest = HubIngest(LakeWriter(tmp_path / "lake"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    assert ingest.traces(ExportTraceServiceRequest.FromString(encode_spans([span]).SerializeToString())).stored == 1
    (row,) = pq.read_table(lake_files(tmp_path / "lake")).to_pylist()
    assert row["install_id"] is None and INSTALL_ATTRIBUTE not in row["resource"]


def test_a_real_hub_answers_a_half_hostile_batch_with_the_receivers_partial_success(hub: Hub) -> None:
    # Through HTTP: the valid span is stored, the rest are counted in partial_success with the receiver's
    # reasons (no value quoted), and a batch of which nothing can be taken is a 400 naming why.
    headers = {"content-type": "application/x-protobuf"}
    answer = httpx.post(hub.endpoint + "/v1/traces", content=_bad_request(), headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    response = ExportTraceServiceResponse.FromString(answer.content)
    _, rows = _direct(_bad_request(), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    assert response.partial_success.rejected_spans == 8
    assert response.partial_success.error_message == "; ".join(sorted(rows.reasons))
    assert "nul \x00" not in response.partial_success.error_message and "xxxx" not in answer.text
    assert len(lake_rows(hub.lake)) == 1

    only_bad = ExportTraceServiceRequest.FromString(_bad_request())
    del only_bad.resource_spans[0].scope_spans[0].spans[0]  # the one valid span
    refused = httpx.post(hub.endpoint + "/v1/traces", content=only_bad.SerializeToString(), headers=headers)
    assert refused.status_code == 400 and "trace_id must be 16 non-zero bytes" in refused.json()["detail"]
    assert len(lake_rows(hub.lake)) == 1


def test_concurrent_requests_share_files_and_every_span_is_stored_once(tmp_path: Path) -> None:
    # The group commit: a write waits (briefly) for the requests still being converted, so installs sending
    # at once cost a few Parquet files, not one each; every span still lands once, and each request is
    # answered only once its rows are in a published file.
    import threading

    ingest = HubIngest(LakeWriter(tmp_path / "lake"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    senders, per_sender, spans = 8, 4, 64
    bodies = [[request_bytes(s, spans, r * spans) for r in range(per_sender)] for s in range(senders)]
    start = threading.Barrier(senders)
    stored: list[int] = []

    def send(mine: list[bytes]) -> None:
        start.wait()
        for body in mine:
            result = ingest.traces(ExportTraceServiceRequest.FromString(body))
            assert pq.read_table(lake_files(tmp_path / "lake")).num_rows >= result.stored  # published first
            stored.append(result.stored)

    threads = [threading.Thread(target=send, args=(mine,)) for mine in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    requests = senders * per_sender
    assert stored == [spans] * requests
    table = pq.read_table(lake_files(tmp_path / "lake"))
    assert table.num_rows == requests * spans == len(set(table["share_id"].to_pylist()))
    assert ingest.writer.files_written <= requests // 2, ingest.writer.files_written


def test_a_request_that_stores_nothing_leaves_no_write_waiting(tmp_path: Path) -> None:
    # Rejected, duplicate or failing requests are never queued: if they stayed counted as "being converted",
    # every later write would wait out its whole linger.
    ingest = HubIngest(LakeWriter(tmp_path / "lake"), Anonymizer(PrivacyPolicy(), secret=lambda: SECRET))
    body = request_bytes(0, 8)
    ingest.traces(ExportTraceServiceRequest.FromString(body))
    assert ingest.traces(ExportTraceServiceRequest.FromString(body)).duplicates == 8  # nothing to write
    with pytest.raises(AttributeError):
        ingest.traces(None)  # type: ignore[arg-type]  # a fault inside the ingest
    assert ingest._converting == 0
