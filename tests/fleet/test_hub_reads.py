"""The hub's page and read API over a real lake, from a real ``peft-telemetry hub --min-installs 4`` process
(not the default 5, so the option is seen to reach every route).

The lake: 6 installs share a common event type, an error type, a metric and a session each; 2 of them also
record a rare event type and a rare error; a sender without an install adds spans that back no group.
Every number the API answers is checked against DuckDB run here on the Parquet files themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa
import pytest
from _fleet_helpers import Hub, start_hub

from analytics import AnalyticsFilter
from analytics.fleet import run_fleet_report
from analytics.fleet.dashboard import fleet_analytics
from exporters.lake import LAKE_SPANS_ARROW, LakeWriter, compact_day, lake_files

K = 4
DAY_NS = 1_790_000_000 * 10**9
S = 10**9


def _batch(owner: str | None, tag: str, spans: list[dict[str, Any]], version: str = "1.0") -> pa.Table:
    rows = []
    for i, span in enumerate(spans):
        start = span.pop("start_ns")
        rows.append({
            "share_id": f"{owner}:{tag}:{i}", "install_id": owner, "trace_id": f"{i:032x}", "span_id": f"{i:016x}",
            "start_ns": start, "end_ns": start + 2 * S, "duration_ms": 2000.0, "received_ns": i, "hub_id": "h",
            "app_version": version, "os_type": "linux" if (owner or "0") < "8" else "windows",
            "session_id": f"session-{owner}" if owner else None, "redactions": '{"email": 1}', **span,
        })  # fmt: skip
    return pa.Table.from_pylist(rows, LAKE_SPANS_ARROW)


def _install_spans(n: int, rare: bool) -> list[dict[str, Any]]:
    base = DAY_NS + n * 60 * S
    spans: list[dict[str, Any]] = [
        {"name": "model_loaded", "event_type": "model_loaded", "category": "event", "start_ns": base},
        {"name": "model_loaded", "event_type": "model_loaded", "category": "event", "start_ns": base + S},
        {"name": "OOM", "error_type": "OutOfMemoryError", "category": "error", "start_ns": base + 2 * S,
         "status_message": f"install {n} wrote to bob@example.com", "attributes": '{"peft.error.category": "gpu"}'},
        {"name": "load_time", "category": "performance", "metric_name": "load_time", "metric_unit": "s",
         "metric_value": 1.0 + n, "start_ns": base + 3 * S},
    ]  # fmt: skip
    if rare:
        spans.append({"name": "secret_feature", "event_type": "secret_feature", "category": "event",
                      "start_ns": base + 4 * S})  # fmt: skip
        spans.append({"name": "Weird", "error_type": "WeirdError", "category": "error", "start_ns": base + 5 * S})
    return spans


def _build_lake(lake: Path) -> list[str]:
    owners = [hashlib.sha256(f"install-{n}".encode()).hexdigest() for n in range(6)]
    for n, owner in enumerate(owners):
        writer = LakeWriter(lake)
        batch = _batch(owner, "a", _install_spans(n, rare=n < 2), version="1.0" if n < 5 else "2.0")
        writer.write(batch)
        writer.write(batch)  # a retried batch: readers must count it once
    anonymous = [{"name": "model_loaded", "event_type": "model_loaded", "category": "event", "start_ns": DAY_NS}]
    LakeWriter(lake).write(_batch(None, "x", anonymous * 1))
    return owners


@pytest.fixture(scope="module")
def fleet_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    lake = tmp_path_factory.mktemp("reads") / "lake"
    _build_lake(lake)
    running = start_hub(lake, None, "--min-installs", str(K), "--allow-host", "hub.corp.example")
    try:
        yield running
    finally:
        running.stop()


def _base(hub: Hub) -> str:
    return f"http://127.0.0.1:{hub.port}"


def _token(hub: Hub) -> str:
    match = re.search(r"[?&]token=([^&\s]+)", hub.dashboard)
    assert match, hub.dashboard
    return match.group(1)


def _client(hub: Hub) -> httpx.Client:
    return httpx.Client(base_url=_base(hub), headers={"x-peft-token": _token(hub)}, timeout=60)


def _independent(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` over ``d``: the lake's rows read here from the Parquet files, one per share_id."""
    files = [str(p) for p in lake_files(lake)]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE d AS SELECT * FROM read_parquet($f, union_by_name = true) QUALIFY "
        "row_number() OVER (PARTITION BY share_id ORDER BY received_ns) = 1",
        {"f": files},
    )
    return con.execute(sql).fetchall()


# -- the page and its credential ---------------------------------------------------------------------------


def test_the_page_says_hub_and_the_token_becomes_a_cookie(fleet_hub: Hub) -> None:
    base = _base(fleet_hub)
    page = httpx.get(base + "/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    block = re.search(rb'<script type="application/json" id="page-kind">(.*?)</script>', page.content)
    assert block, "the page-kind block is missing"
    hub_id = httpx.get(base + "/healthz", timeout=30).json()["hub_id"]
    assert json.loads(block.group(1)) == {"kind": "hub", "hub_id": hub_id, "min_installs": K}
    assert (
        b'id="collected-data"' in page.content and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    assert httpx.get(base + "/dashboard", timeout=30).content == page.content
    script = re.search(rb'src="(static/[a-z0-9_.-]+\.js)"', page.content)
    assert script and httpx.get(f"{base}/{script.group(1).decode()}", timeout=30).status_code == 200

    assert fleet_hub.dashboard == f"{base}/?token={_token(fleet_hub)}"
    assert httpx.get(f"{base}/?token=not-the-token", timeout=30).status_code == 403
    swap = httpx.get(fleet_hub.dashboard, timeout=30)
    assert swap.status_code == 303 and swap.headers["location"] == "/"
    cookie = swap.headers["set-cookie"].lower()
    assert "peft_telemetry_token=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    with httpx.Client(base_url=base, cookies=swap.cookies, timeout=60) as browser:
        assert browser.get("/api/telemetry/fleet").status_code == 200
        assert browser.post("/api/telemetry/analytics", json={}).status_code == 200


def test_the_installs_credential_does_not_open_the_dashboard(fleet_hub: Hub) -> None:
    installs_token = fleet_hub.endpoint.rsplit("/", 1)[1]
    assert installs_token != _token(fleet_hub)
    answer = httpx.get(f"{_base(fleet_hub)}/api/telemetry/fleet", headers={"x-peft-token": installs_token}, timeout=30)
    assert answer.status_code == 403


@pytest.mark.parametrize(("method", "path"), [("POST", "analytics"), ("POST", "insights"), ("GET", "fleet")])
def test_every_data_route_needs_the_token(fleet_hub: Hub, method: str, path: str) -> None:
    url = f"{_base(fleet_hub)}/api/telemetry/{path}"
    body = {"json": {}} if method == "POST" else {}
    missing = httpx.request(method, url, timeout=30, **body)  # type: ignore[arg-type]
    assert missing.status_code == 401, missing.text
    wrong = httpx.request(method, url, headers={"x-peft-token": "x" * 43}, timeout=30, **body)  # type: ignore[arg-type]
    assert wrong.status_code == 403, wrong.text


def test_foreign_hosts_and_origins_are_refused_but_installs_still_share(fleet_hub: Hub) -> None:
    with _client(fleet_hub) as client:
        assert client.get("/", headers={"host": "evil.example"}).status_code == 403
        assert client.get("/", headers={"host": "hub.corp.example"}).status_code == 200  # --allow-host
        assert (
            client.post("/api/telemetry/analytics", json={}, headers={"origin": "http://evil.example"}).status_code
            == 403
        )
        # Installs reach the OTLP routes by whatever name they were given: no Host rule there.
        sent = client.post(
            f"/fleet/{fleet_hub.endpoint.rsplit('/', 1)[1]}/v1/traces", json={}, headers={"host": "hub.corp.example"}
        )
        assert sent.status_code == 200, sent.text


# -- the numbers ----------------------------------------------------------------------------------------------


def test_analytics_leave_out_groups_of_fewer_than_k_installs(fleet_hub: Hub) -> None:
    with _client(fleet_hub) as client:
        answer = client.post("/api/telemetry/analytics", json={})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    lake = fleet_hub.lake

    def groups(sql: str) -> dict[Any, int]:
        return {key: n for key, n, installs in _independent(lake, sql) if installs >= K}

    breakdown = groups(
        "SELECT event_type, count(*), count(DISTINCT install_id) FROM d WHERE category = 'event' GROUP BY 1"
    )
    assert breakdown == {"model_loaded": 13}  # 6 installs x 2, plus the sender without an install
    assert {e["event_type"]: e["count"] for e in report["event_breakdown"]} == breakdown
    errors = groups(
        "SELECT error_type, count(*), count(DISTINCT install_id) FROM d WHERE category = 'error' GROUP BY 1"
    )
    assert {e["error_type"]: e["count"] for e in report["errors_by_type"]} == errors == {"OutOfMemoryError": 6}
    assert all(e["example"] is None for e in report["errors_by_type"])  # one install's message: never shown
    [(spans, events, installs, sessions)] = _independent(
        lake, "SELECT count(*), count(*) FILTER (category = 'event'), count(DISTINCT install_id), "
        "count(DISTINCT session_id) FROM d",
    )  # fmt: skip
    totals = report["totals"]
    assert (totals["total_spans"], totals["total_events"], totals["sessions"]) == (spans, events, sessions)
    assert report["installs"] == installs == 6 and report["min_installs"] == K
    assert report["suppressed"]["event_breakdown"] == 1 and report["suppressed"]["errors_by_type"] == 1
    [(count, avg, lo, hi)] = _independent(
        lake, "SELECT count(*), avg(metric_value), min(metric_value), max(metric_value) FROM d "
        "WHERE metric_name = 'load_time'",
    )  # fmt: skip
    [metric] = report["performance"]
    assert (metric["count"], metric["min"], metric["max"]) == (count, lo, hi) and metric["avg"] == pytest.approx(avg)
    # Time buckets: each install's minute holds only its own spans, so every bucket is below k.
    assert report["events_over_time"]["buckets"] == [] and report["suppressed"]["events_over_time"] > 0
    assert report["system_info"]["os_type"] is None and report["consent_history"] == []
    # Histogram bins: the 6 installs' values 1..6 fall in 6 bins of one install each.
    assert report["slowest_distribution"]["bins"] == [] and report["suppressed"]["slowest_distribution"] == 6
    [(redacted,)] = _independent(lake, "SELECT count(*) FROM d WHERE redactions IS NOT NULL")
    assert report["redactions"] == [{"rule_id": "email", "count": redacted}]
    [(avg_s, max_s)] = _independent(
        lake, "SELECT avg(s), max(s) FROM (SELECT (max(end_ns) - min(start_ns)) / 1e9 AS s FROM d "
        "WHERE session_id IS NOT NULL GROUP BY session_id)",
    )  # fmt: skip
    assert report["sessions"]["avg_s"] == pytest.approx(avg_s) and report["sessions"]["max_s"] == pytest.approx(max_s)


def test_a_lower_k_shows_the_smaller_groups_with_the_same_numbers(fleet_hub: Hub) -> None:
    report = fleet_analytics(fleet_hub.lake, AnalyticsFilter(), min_installs=2)
    expected = dict(
        _independent(fleet_hub.lake, "SELECT event_type, count(*) FROM d WHERE category = 'event' GROUP BY 1")
    )
    assert (
        {e.event_type: e.count for e in report.event_breakdown} == expected == {"model_loaded": 13, "secret_feature": 2}
    )
    assert {e.error_type for e in report.errors_by_type} == {"OutOfMemoryError", "WeirdError"}
    assert fleet_analytics(fleet_hub.lake, AnalyticsFilter(), min_installs=7).totals.total_spans == 0  # 6 installs
    every = fleet_analytics(fleet_hub.lake, AnalyticsFilter(), min_installs=1)
    buckets = every.events_over_time.buckets
    assert sum(b.events for b in buckets) == every.totals.total_events  # one install in each bucket at least
    assert sum(b.count for b in every.slowest_distribution.bins) == 6


def test_a_selection_of_fewer_than_k_installs_shows_nothing(fleet_hub: Hub) -> None:
    with _client(fleet_hub) as client:
        one = client.post("/api/telemetry/analytics", json={"event_types": ["secret_feature"]}).json()
    assert one["totals"]["total_spans"] == 0 and one["event_breakdown"] == [] and one["installs"] is None


def test_the_fleet_view_is_the_fleet_report(fleet_hub: Hub) -> None:
    with _client(fleet_hub) as client:
        answer = client.get("/api/telemetry/fleet")
    assert answer.status_code == 200
    fleet = answer.json()
    assert fleet == run_fleet_report(fleet_hub.lake, "fleet", min_installs=K)
    assert fleet["totals"]["installs"] == 6
    assert [v["app_version"] for v in fleet["versions"]] == ["1.0"]  # 2.0: one install, left out
    assert fleet["suppressed"]["versions"] == 1


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"start_ns": -1}, 422, "start_ns"),
        ({"start_ns": 5, "end_ns": 1}, 422, "end_ns"),
        ({"colour": "red"}, 422, "colour"),
        ({"event_types": "model_loaded"}, 422, "event_types"),
        (b"{not json", 400, "json"),
    ],
)
def test_bad_filters_get_a_4xx_naming_the_problem(fleet_hub: Hub, body: Any, status: int, named: str) -> None:
    with _client(fleet_hub) as client:
        if isinstance(body, bytes):
            answer = client.post("/api/telemetry/analytics", content=body, headers={"content-type": "application/json"})
        else:
            answer = client.post("/api/telemetry/analytics", json=body)
        assert answer.status_code == status
        assert named in answer.text.lower()
        plain = client.post("/api/telemetry/analytics", content=b"{}", headers={"content-type": "text/plain"})
        assert plain.status_code == 415


def test_the_hub_refuses_a_k_below_one(tmp_path: Path) -> None:
    from _fleet_helpers import CLI, ROOT

    done = subprocess.run(
        [*CLI, "hub", "--lake", str(tmp_path / "lake"), "--port", "1", "--min-installs", "0"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "--min-installs" in done.stderr


def test_insights_route(fleet_hub: Hub) -> None:
    pytest.importorskip("analytics.fleet.insights")
    with _client(fleet_hub) as client:
        answer = client.post("/api/telemetry/insights", json={})
        assert answer.status_code == 200, answer.text
        assert client.post("/api/telemetry/insights", json={"alpha": 5}).status_code == 422


# -- reading while the lake changes ---------------------------------------------------------------------------


def test_reads_never_see_half_a_write_or_a_compaction(tmp_path: Path) -> None:
    """Each batch adds 10 spans of 10 new installs: a report reads whole files, so its spans are 0 mod 10
    (and their installs are 10 per batch); compaction meanwhile replaces files under the reads."""
    lake = tmp_path / "lake"
    stop = threading.Event()

    def write() -> None:
        writer, batch = LakeWriter(lake), 0
        while not stop.is_set() and batch < 200:
            owners = [hashlib.sha256(f"{batch}-{i}".encode()).hexdigest() for i in range(10)]
            spans = [{"name": "e", "event_type": "e", "category": "event", "start_ns": DAY_NS + batch}]
            writer.write(pa.concat_tables([_batch(o, str(batch), [dict(s) for s in spans]) for o in owners]))
            if batch % 20 == 19:
                compact_day(lake, "2026-09-21")
            batch += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen = []
        for _ in range(30):
            report = fleet_analytics(lake, AnalyticsFilter(), min_installs=1)
            spans = report.totals.total_spans
            assert spans % 10 == 0 and report.installs in (None, spans), (spans, report.installs)
            assert sum(e.count for e in report.event_breakdown) == report.totals.total_events
            seen.append(spans)
    finally:
        stop.set()
        writer.join()
    assert seen == sorted(seen) and seen[-1] > 0


def test_answers_follow_the_lake_and_a_damaged_file_is_a_503(tmp_path: Path) -> None:
    """Answers are kept only while the lake's files stay the same: a new file, a damaged one, a removed one
    each change the next answer."""
    lake = tmp_path / "lake"
    _build_lake(lake)
    hub = start_hub(lake, None)
    try:
        with _client(hub) as client:
            first = client.post("/api/telemetry/analytics", json={}).json()
            assert client.post("/api/telemetry/analytics", json={}).json() == first
            broken = lake_files(lake)[0].with_name("damaged.parquet")
            broken.write_bytes(b"PAR1 this is not parquet")
            for method, path in (("POST", "analytics"), ("GET", "fleet")):
                answer = client.request(method, f"/api/telemetry/{path}", json={} if method == "POST" else None)
                assert answer.status_code == 503 and answer.json()["problem"] == "lake_unavailable", answer.text
                assert "PAR1" not in answer.text
            assert client.get("/").status_code == 200 and client.get("/healthz").status_code == 200
            broken.unlink()
            owner = hashlib.sha256(b"install-new").hexdigest()
            LakeWriter(lake).write(_batch(owner, "n", _install_spans(9, rare=False)))
            after = client.post("/api/telemetry/analytics", json={}).json()
            assert after["totals"]["total_spans"] == first["totals"]["total_spans"] + 4
            assert after["installs"] == first["installs"] + 1
    finally:
        hub.stop()


def test_what_real_senders_share_shows_on_the_hub_dashboard_once_k_installs_sent_it(hub: Hub) -> None:
    """Spans sent over OTLP by OpenTelemetry's own exporter, install by install, through the default k = 5."""
    from _fleet_helpers import send_with_official_exporter

    with _client(hub) as client:
        for n in range(5):
            send_with_official_exporter(hub.endpoint, f"sender-{n}".encode(), events=3)
            report = client.post("/api/telemetry/analytics", json={"event_types": ["model_loaded"]}).json()
            if n < 4:  # fewer than k installs: nothing at all, not even the totals
                assert report["totals"]["total_events"] == 0 and report["event_breakdown"] == []
        assert report["installs"] == 5 and report["min_installs"] == 5
        assert report["event_breakdown"] == [{"event_type": "model_loaded", "count": 15, "percentage": 100.0}]
        assert report["redactions"] == [{"rule_id": "value.email", "count": 15}]  # the hub anonymized every span
        fleet = client.get("/api/telemetry/fleet").json()
        assert fleet["totals"]["installs"] == 5 and fleet["os_mix"] == [
            {"os_type": "linux", "installs": 5, "events": 15}
        ]
