"""The pipeline end to end: track_* and plain OTel spans into anonymized rows in a real DuckDB file."""

import asyncio
import json
import re
import time
from pathlib import Path

import duckdb
import pytest

from exporters.eventlog import schema
from telemetry import TelemetryService, TelemetrySettings
from telemetry.testing import recording_service, stored_events


def count_rows(service: TelemetryService, table: str) -> int:
    service.flush()
    with service.event_log.reader() as con:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_consent_off_records_nothing_at_all(tmp_path: Path) -> None:
    with recording_service(tmp_path, enabled=False) as service:
        assert service.is_enabled() is False
        service.track_event_sync("training_started", {"algorithm": "lora"})
        service.track_performance_sync("step_time", 12.5, "ms")
        service.track_error_sync(ValueError("boom"))
        with service.tracer.start_as_current_span("plain-otel") as span:
            assert not span.is_recording()
        for table in schema.DATA_TABLES:
            assert count_rows(service, table) == 0, table


def test_opt_in_then_opt_out(tmp_path: Path) -> None:
    with recording_service(tmp_path, enabled=False) as service:
        service.enable().result(10)
        service.track_event_sync("before_opt_out")
        service.flush()
        service.disable().result(10)
        service.track_event_sync("after_opt_out")
        events = stored_events(service)
        assert [e["event_type"] for e in events] == ["before_opt_out"]
        with service.event_log.reader() as con:
            ledger = con.execute(
                f"SELECT action, policy_version, source FROM {schema.CONSENT_LEDGER} ORDER BY time_ns"
            ).fetchall()
        assert [row[0] for row in ledger] == ["granted", "revoked"]
        assert all(row[1] == service.consent.policy_version for row in ledger)


def test_consent_persists_for_the_next_process(tmp_path: Path) -> None:
    with recording_service(tmp_path) as service:
        anon_id = service.anonymous_user_id
    with recording_service(tmp_path, enabled=False) as again:
        assert again.is_enabled() is True
        assert again.anonymous_user_id == anon_id


def test_a_span_that_ends_after_consent_is_revoked_is_not_stored(service: TelemetryService) -> None:
    span = service.tracer.start_span("long-running")
    assert span.is_recording()
    service.disable().result(10)
    span.end()
    assert count_rows(service, schema.SPANS) == 0


def test_tracked_event_is_stored_with_its_properties_anonymized(service: TelemetryService) -> None:
    home = str(Path.home())
    service.track_event_sync(
        "training_started",
        {
            "algorithm": "lora",
            "model_size": "7B",
            "email": "alice@example.com",
            "api_key": "sk-live-1234567890abcdef",
            "dataset_path": f"{home}/data/alpaca.json",
            "user_id": "alice-42",
            "lora": {"r": 16, "alpha": 32, "password": "hunter2"},
        },
    )
    [event] = stored_events(service)
    assert event["event_type"] == "training_started"
    assert event["category"] == "event"
    assert event["session_id"] == service.session_id
    attrs = event["attributes"]
    assert attrs["algorithm"] == "lora" and attrs["model_size"] == "7B"
    assert attrs["lora.r"] == 16 and attrs["lora.alpha"] == 32
    stored = json.dumps(event)
    for secret in ("alice@example.com", "sk-live-1234567890abcdef", "hunter2", "alice-42", home):
        assert secret not in stored
    assert "alpaca.json" in stored  # the file name is kept, the directories are not
    assert event["redactions"], "the anonymizer's accounting is stored with the span"


def test_the_async_api_records_like_the_sync_one(service: TelemetryService) -> None:
    async def app() -> None:
        await service.track_event("app_started")
        await service.track_performance("api_response_time", 150.5, "ms")
        try:
            raise RuntimeError("first line\nsecond line with detail")
        except RuntimeError as exc:
            await service.track_error(exc, {"context": "training"})

    asyncio.run(app())
    categories = sorted(e["category"] for e in stored_events(service))
    assert categories == ["error", "event", "performance"]


def test_errors_keep_type_first_line_and_frames_without_directories(service: TelemetryService) -> None:
    def load_checkpoint() -> None:
        raise FileNotFoundError(f"No such file: {Path.home()}/models/llama.bin\nmore detail")

    try:
        load_checkpoint()
    except FileNotFoundError as exc:
        service.track_error_sync(exc, {"context": "loading"})
    [error] = stored_events(service, category="error")
    assert error["error_type"] == "FileNotFoundError"
    assert error["status_code"] == "ERROR"
    assert "more detail" not in (error["status_message"] or "")
    assert error["attributes"]["peft.error.category"] == "filesystem"
    assert error["attributes"]["context"] == "loading"  # a key named "context" is not doubled
    with service.event_log.reader() as con:
        [(attrs,)] = con.execute(f"SELECT attributes FROM {schema.SPAN_EVENTS}").fetchall()
    event = json.loads(attrs)
    stack = event["exception.stacktrace"]
    assert "load_checkpoint" in stack and "test_service.py" in stack
    assert str(Path(__file__).parent) not in stack
    assert str(Path.home()) not in json.dumps(event)
    assert "more detail" not in event["exception.message"]


def test_performance_is_a_span_for_exact_percentiles_and_a_histogram(tmp_path: Path) -> None:
    with recording_service(tmp_path, metrics_interval_s=3600) as service:
        for value in (10.0, 20.0, 30.0):
            service.track_performance_sync("step_time", value, "ms")
        service.track_performance_sync("step_time", float("nan"), "ms")  # not a measurement: dropped
        rows = stored_events(service, category="performance")
        assert sorted(r["metric_value"] for r in rows) == [10.0, 20.0, 30.0]
        assert {r["metric_unit"] for r in rows} == {"ms"}
        with service.event_log.reader() as con:
            points = con.execute(
                f"SELECT name, unit, kind, count, sum, min, max FROM {schema.METRIC_POINTS} WHERE name = 'step_time'"
            ).fetchall()
        assert points == [("step_time", "ms", "histogram", 3, 60.0, 10.0, 30.0)]


def test_a_metric_name_otel_would_refuse_still_records_span_and_histogram(tmp_path: Path) -> None:
    # OTel raises on non-ASCII instrument names and units; the measurement must survive under a clean name.
    with recording_service(tmp_path, metrics_interval_s=3600) as service:
        service.track_performance_sync("café_temps", 12.5, "µs")
        [row] = stored_events(service, category="performance")
        assert (row["metric_name"], row["metric_value"], row["metric_unit"]) == ("café_temps", 12.5, "µs")
        with service.event_log.reader() as con:
            points = con.execute(f"SELECT name, unit, count, sum FROM {schema.METRIC_POINTS}").fetchall()
        assert points == [("cafe_temps", "_s", 1, 12.5)]
        assert service.stats().internal_errors == {}


def test_plain_otel_spans_feed_the_same_pipeline(service: TelemetryService) -> None:
    with service.tracer.start_as_current_span("load_model", attributes={"model_name": "llama-2-7b"}):
        service.track_event_sync("model_loaded", {"model_name": "llama-2-7b"})
    rows = {r["name"]: r for r in stored_events(service)}
    parent, child = rows["load_model"], rows["model_loaded"]
    assert parent["category"] == "span"
    assert child["trace_id"] == parent["trace_id"]
    assert child["parent_span_id"] == parent["span_id"]


def test_system_information_travels_as_resource_attributes(service: TelemetryService) -> None:
    service.track_event_sync("app_started")
    [event] = stored_events(service)
    resource = event["resource"]
    assert resource["service.name"] == "peft-studio"
    assert {"os.type", "process.runtime.version", "host.arch"} <= set(resource)
    assert "host.name" not in resource


def test_sessions_have_an_id_and_a_start(tmp_path: Path) -> None:
    with recording_service(tmp_path) as first:
        first.track_event_sync("a")
        first_session = first.session_id
        assert re.fullmatch(r"[0-9a-f]{32}", first_session)
        assert first.session_start_ns > 0
    with recording_service(tmp_path) as second:
        second.track_event_sync("b")
        sessions = {e["event_type"]: e["session_id"] for e in stored_events(second)}
    assert sessions["a"] == first_session and sessions["b"] == second.session_id != first_session


def test_export_all_writes_otlp_json_lines(service: TelemetryService, tmp_path: Path) -> None:
    service.track_event_sync("training_started", {"algorithm": "lora"})
    summary = service.export_all(tmp_path / "export.jsonl").result(30)
    lines = (tmp_path / "export.jsonl").read_bytes().splitlines()
    assert lines and summary.spans >= 1
    first = json.loads(lines[0])
    [span] = [s for rs in first["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert span["name"] == "training_started"
    assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"])


def test_delete_all_erases_everything_and_rotates_the_identity(service: TelemetryService) -> None:
    old_id = service.anonymous_user_id
    for i in range(50):
        service.track_event_sync("training_started", {"run": i})
    assert count_rows(service, schema.SPANS) == 50
    service.delete_all().result(30)
    assert count_rows(service, schema.SPANS) == 0
    assert count_rows(service, schema.SPAN_EVENTS) == 0
    assert service.anonymous_user_id != old_id
    assert service.is_enabled()  # erasing data is not revoking consent
    service.track_event_sync("after_delete")
    assert [e["event_type"] for e in stored_events(service)] == ["after_delete"]


def test_keyed_hashes_change_with_the_identity_after_delete_all(service: TelemetryService) -> None:
    service.track_event_sync("login", {"user_id": "bob"})
    [before] = stored_events(service)
    service.delete_all().result(30)
    service.track_event_sync("login", {"user_id": "bob"})
    [after] = stored_events(service)
    assert "bob" not in json.dumps(before) + json.dumps(after)
    assert before["attributes"]["user_id"] != after["attributes"]["user_id"]


def test_do_not_track_keeps_everything_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with recording_service(tmp_path):
        pass
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    service = TelemetryService(TelemetrySettings(home=tmp_path, install_global=False, sample_resources=False))
    try:
        assert service.is_enabled() is False
        service.track_event_sync("ignored")
        assert count_rows(service, schema.SPANS) == 0
    finally:
        service.shutdown()


def test_track_calls_never_raise_on_bad_input(service: TelemetryService) -> None:
    class Weird:
        def __str__(self) -> str:
            raise RuntimeError("no")

    service.track_event_sync(Weird(), {"x": Weird()})  # type: ignore[arg-type]
    service.track_event_sync("bad_props", 42)  # type: ignore[arg-type]
    service.track_performance_sync("t", "fast", "ms")  # type: ignore[arg-type]
    service.track_error_sync("not an exception")  # type: ignore[arg-type]

    class BadException(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    service.track_error_sync(BadException())
    service.track_event_sync("still_works")
    assert "still_works" in [e["event_type"] for e in stored_events(service)]


def test_shutdown_is_safe_twice_and_awaitable(tmp_path: Path) -> None:
    service = TelemetryService(TelemetrySettings(home=tmp_path, install_global=False, sample_resources=False))
    assert service.shutdown(timeout=5)
    assert service.shutdown(timeout=5)

    async def close() -> bool:
        return await service.shutdown()

    assert asyncio.run(close()) is True
    service.track_event_sync("after shutdown")  # ignored, not raised


def test_the_database_file_is_where_the_settings_say(service: TelemetryService) -> None:
    service.track_event_sync("x")
    service.flush()
    path = service.settings.home / "telemetry"
    assert service.event_log.path.parent == path
    # A plain DuckDB client can read the event log once we let go of it.
    service.event_log.close()
    con = duckdb.connect(str(service.event_log.path), read_only=True)
    try:
        assert con.execute(f"SELECT count(*) FROM {schema.SPANS}").fetchone() == (1,)
    finally:
        con.close()


def test_events_slower_than_the_flush_interval_do_not_reopen_the_event_log(tmp_path: Path) -> None:
    # An app sending an event now and then must not pay DuckDB's open + close (~40 ms of CPU) per batch:
    # the file stays open between batches that come a second or so apart.
    with recording_service(tmp_path, flush_interval_s=0.2) as service:
        service.track_event_sync("first")
        service.flush()
        opened = service.event_log.opens
        for step in range(3):
            time.sleep(0.8)  # one batch per event; gaps the old 0.5 s linger closed the file in
            service.track_event_sync("step", {"n": step})
            service.flush()
        assert service.event_log.opens == opened
        assert [e["event_type"] for e in stored_events(service)] == ["first", "step", "step", "step"]


def test_consent_revoked_by_another_process_stops_a_running_app(tmp_path: Path) -> None:
    with recording_service(tmp_path, consent_poll_s=0.05) as running:
        with recording_service(tmp_path, enabled=False) as cli:
            cli.disable(source="cli").result(10)

        deadline = time.monotonic() + 10
        while running.is_enabled() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running.is_enabled() is False
        running.track_event_sync("after_revocation")
        assert count_rows(running, schema.SPANS) == 0


def test_a_loss_makes_the_next_flush_say_false_once_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Spans dropped at a full queue are counted, logged once however many, and flush() does not report
    success over them; the flush after that, with nothing lost since, does."""
    with recording_service(tmp_path, queue_size=64, batch_size=64, flush_interval_s=5.0) as service:
        assert service.flush() is True
        with caplog.at_level("WARNING"):
            for i in range(5_000):  # far faster than the worker drains 64 at a time
                service.track_event_sync("burst", {"i": i})
        dropped = service.stats().dropped_queue_full
        assert dropped > 0
        assert [r.getMessage() for r in caplog.records if "queue is full" in r.getMessage()] == [
            "telemetry: the span queue is full or closed; spans are dropped and counted"
        ]
        assert service.flush() is False  # not everything recorded since the last flush was written
        assert service.flush() is True
        assert count_rows(service, schema.SPANS) == 5_000 - dropped
        assert not service.shutdown()  # spans were lost in this run
