"""The hub and the lake end to end: the official OTLP exporter sends, the hub re-anonymizes and writes a
day-partitioned lake, fleet reports hide groups of fewer than k installs, hostile bodies store nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest
from _fleet_helpers import Hub, lake_rows, query_lake, send_with_official_exporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from exporters.lake import lake_files


def test_installs_share_through_the_hub_and_reports_apply_k(hub: Hub) -> None:
    # Six installs: four on 2.0, two on 1.0. With k = 5 neither version shows; with k = 2 both do.
    for index in range(6):
        send_with_official_exporter(hub.endpoint, f"key-{index}".encode(), 3, version="2.0" if index < 4 else "1.0")
    rows = lake_rows(hub.lake, ("install_id", "attributes"))
    assert len(rows) == 18 and len({r[0] for r in rows}) == 6
    assert all("bob@example.com" not in r[1] and "<email>" in r[1] for r in rows)  # anonymized again at the hub
    assert all(p.parent.name.startswith("day=") for p in lake_files(hub.lake))

    fleet = query_lake(hub.lake, "fleet")
    assert fleet["totals"]["installs"] == 6 and fleet["totals"]["events"] == 18
    assert fleet["versions"] == [] and fleet["suppressed"]["versions"] == 2
    assert fleet["os_mix"] == [{"os_type": "linux", "installs": 6, "events": 18}]

    loose = query_lake(hub.lake, "fleet", "--min-installs", "2")
    assert [(v["app_version"], v["installs"]) for v in loose["versions"]] == [("2.0", 4), ("1.0", 2)]

    summary = query_lake(hub.lake, "summary", "--min-installs", "7")
    assert summary["totals"] is None and summary["event_breakdown"] == []  # the whole fleet is < k


def test_a_sender_without_the_credential_stores_nothing(hub: Hub) -> None:
    wrong = hub.endpoint.rsplit("/", 1)[0] + "/not-the-token"
    send_with_official_exporter(wrong, b"key", 2)
    answer = httpx.post(f"http://127.0.0.1:{hub.port}/v1/traces", content=b"",
                        headers={"content-type": "application/x-protobuf"})  # fmt: skip
    assert answer.status_code == 401
    assert lake_rows(hub.lake) == []


def _valid_request(trace_id: bytes = b"\x01" * 16) -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = trace_id, b"\x02" * 8, "x"
    span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_000_100_000_000
    return request.SerializeToString()


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\xff\xfe not protobuf", {}, 400),
        (b"{not json", {"content-type": "application/json"}, 400),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
         {"content-type": "application/json"}, 400),
        (_valid_request(trace_id=b"\x00" * 16), {}, 400),  # every span invalid: nothing accepted
        (gzip.compress(b"\x00" * (40 * 1024 * 1024)), {"content-encoding": "gzip"}, 413),  # a gzip bomb
        (b"not gzip", {"content-encoding": "gzip"}, 400),
        (_valid_request(), {"content-type": "text/plain"}, 415),
        (_valid_request(), {"content-encoding": "br"}, 415),
    ],
)  # fmt: skip
def test_hostile_bodies_get_4xx_and_store_nothing(hub: Hub, body: bytes, headers: dict[str, str], status: int) -> None:
    sent = {"content-type": "application/x-protobuf", **headers}
    answer = httpx.post(hub.endpoint + "/v1/traces", content=body, headers=sent, timeout=30)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail"]
    assert lake_rows(hub.lake) == []
    assert not [p for p in (hub.lake / "spans").rglob("*") if p.is_file()]


def test_a_valid_body_is_stored_once_even_when_sent_twice(hub: Hub) -> None:
    headers = {"content-type": "application/x-protobuf"}
    for _ in range(2):
        assert httpx.post(hub.endpoint + "/v1/traces", content=_valid_request(), headers=headers).status_code == 200
    assert len(lake_rows(hub.lake)) == 1


def test_metrics_are_checked_and_not_stored(hub: Hub) -> None:
    answer = httpx.post(hub.endpoint + "/v1/metrics", content=b"\xff\xff",
                        headers={"content-type": "application/x-protobuf"})  # fmt: skip
    assert answer.status_code == 400
    assert lake_rows(hub.lake) == []


def test_an_empty_lake_reports_nothing(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    answer = query_lake(tmp_path / "lake", "summary", "--min-installs", "1")
    assert answer["totals"] is None and answer["event_breakdown"] == []  # no install backs the fleet


def test_compaction_dedupes_keeps_deletions_and_answers_stay_the_same(tmp_path: Path) -> None:
    import hashlib

    import pyarrow as pa

    from exporters.lake import LAKE_SPANS_ARROW, LakeWriter, compact_day, delete_install

    lake = tmp_path / "lake"
    keys = [f"key-{i}".encode() for i in range(3)]
    day_ns = 1_790_000_000 * 10**9

    def rows(key: bytes, count: int) -> pa.Table:
        owner = hashlib.sha256(key).hexdigest()
        return pa.Table.from_pylist([
            {"share_id": f"{owner}:{i}", "install_id": owner, "trace_id": f"{i:032x}", "span_id": f"{i:016x}",
             "name": "e", "event_type": "e", "category": "event", "start_ns": day_ns + i, "end_ns": day_ns + i,
             "received_ns": i, "hub_id": "h"} for i in range(count)
        ], LAKE_SPANS_ARROW)  # fmt: skip

    for key in keys:
        writer = LakeWriter(lake)
        writer.write(rows(key, 10))
        writer.write(rows(key, 10))  # a retried batch: every row twice
    before = query_lake(lake, "summary", "--min-installs", "1")
    assert before["totals"]["events"] == 30
    delete_install(lake, hashlib.sha256(keys[0]).hexdigest())
    day = lake_files(lake)[0].parent.name.split("=")[1]
    assert compact_day(lake, day) == (4, 20)  # the deletion removed the two files of key 0
    assert len(lake_files(lake)) == 1
    after = query_lake(lake, "summary", "--min-installs", "1")
    assert after["totals"]["events"] == 20 and after["totals"]["installs"] == 2


def test_a_batch_is_published_one_file_per_day_with_each_row_once(tmp_path: Path) -> None:
    """The writer splits a batch by the day its spans started (UTC) and writes a one-day batch as it is; a
    table in another column order and with other types is cast to the lake's schema first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from exporters.lake import LAKE_SPANS_ARROW, LakeWriter

    day_ns = 86_400 * 10**9
    first_day = 20_700 * day_ns  # 2026-09-04

    def rows(starts: list[int]) -> list[dict[str, object]]:
        return [{"share_id": f"s{i}", "install_id": "i", "trace_id": f"{i:032x}", "span_id": f"{i:016x}",
                 "name": "e", "start_ns": start, "end_ns": start, "received_ns": 1, "hub_id": "h"}
                for i, start in enumerate(starts)]  # fmt: skip

    writer = LakeWriter(tmp_path / "lake")
    one_day = rows([first_day + 5, first_day + day_ns - 1])
    assert writer.write(pa.Table.from_pylist(one_day, LAKE_SPANS_ARROW)) == 2
    three_days = rows([first_day + 1, first_day + day_ns, first_day + 2 * day_ns + 7, first_day + day_ns + 3])
    reordered = pa.Table.from_pylist(three_days, LAKE_SPANS_ARROW).select(LAKE_SPANS_ARROW.names[::-1])
    loose = reordered.set_column(
        reordered.schema.get_field_index("name"), "name", reordered["name"].cast("large_string")
    )
    assert not loose.schema.equals(LAKE_SPANS_ARROW)
    assert writer.write(loose) == 4
    by_day: dict[str, list[int]] = {}
    for path in sorted((tmp_path / "lake").rglob("part-*.parquet")):
        table = pq.read_table(path)
        assert table.schema.names == LAKE_SPANS_ARROW.names
        by_day.setdefault(path.parent.name, []).extend(table["start_ns"].to_pylist())
    assert writer.files_written == 4
    assert {day: sorted(starts) for day, starts in by_day.items()} == {
        "day=2026-09-04": [first_day + 1, first_day + 5, first_day + day_ns - 1],
        "day=2026-09-05": [first_day + day_ns, first_day + day_ns + 3],
        "day=2026-09-06": [first_day + 2 * day_ns + 7],
    }
