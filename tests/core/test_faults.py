"""Faults the host app must survive: a failing anonymizer, a locked or unwritable database, a hung
exporter at exit, kill -9 mid-ingestion, and two processes sharing one data home."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from exporters.eventlog import schema
from telemetry import TelemetryService, TelemetrySettings
from telemetry.testing import recording_service, stored_events

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *, timeout: float = 120, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DO_NOT_TRACK", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,  # type: ignore[call-overload]
    )


def span_count(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(f"SELECT count(*) FROM {schema.SPANS}").fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()


def test_a_span_whose_anonymization_raises_is_dropped_and_counted(service: TelemetryService) -> None:
    def explode(span: object) -> object:
        raise RuntimeError("anonymizer bug")

    original = service.anonymizer.scrub_span
    service.anonymizer.scrub_span = explode  # type: ignore[method-assign]
    service.track_event_sync("secret_event", {"email": "carol@example.com"})
    service.flush()
    service.anonymizer.scrub_span = original  # type: ignore[method-assign]
    service.track_event_sync("fine_event")
    assert [e["event_type"] for e in stored_events(service)] == ["fine_event"]
    assert service.stats().dropped_anonymizer_failed == 1


# A process that opens the file with plain DuckDB (not through the event log and its lock) and keeps it.
HOLDER = """
import sys, time, duckdb
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.05)
print("held", flush=True)
time.sleep(4)
con.close()
"""


def test_a_locked_database_delays_events_but_loses_none(tmp_path: Path) -> None:
    with recording_service(tmp_path, lock_timeout_s=0.5) as service:
        service.track_event_sync("before_lock")
        service.flush()
        db = service.event_log.path
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for i in range(20):
            service.track_event_sync("during_lock", {"i": i})  # never raises, never blocks
        # Not in DuckDB yet: flush says so (the events wait in the spool file, or for a retry without one).
        assert service.flush(timeout_s=3) is False
        holder.wait(30)
        service.flush()
        events = stored_events(service)
        assert sum(e["event_type"] == "during_lock" for e in events) == 20


def test_an_unusable_database_path_never_reaches_the_app(tmp_path: Path) -> None:
    settings = TelemetrySettings(home=tmp_path, install_global=False, sample_resources=False, lock_timeout_s=0.5)
    settings.db_path.mkdir(parents=True)  # a folder where the file should be
    service = TelemetryService(settings)
    try:
        service.enable().result(10)
        service.track_event_sync("goes_nowhere")
        assert service.flush(timeout_s=5) is False  # kept in the spool file, or failed without one
    finally:
        service.shutdown(timeout=2)


def test_metric_points_the_event_log_refused_are_counted_in_stats(tmp_path: Path) -> None:
    settings = TelemetrySettings(
        home=tmp_path, install_global=False, sample_resources=False, lock_timeout_s=0.5, metrics_interval_s=3600
    )
    settings.db_path.mkdir(parents=True)  # a folder where the file should be: every write fails
    service = TelemetryService(settings)
    try:
        service.enable().result(10)
        assert service.stats().dropped_metric_points_export_failed == 0
        service.track_performance_sync("step_time", 12.0, "ms")  # a span and a histogram point
        service.flush(timeout_s=5)
        assert service.stats().dropped_metric_points_export_failed >= 1
    finally:
        service.shutdown(timeout=2)


def test_a_corrupt_config_file_starts_with_consent_off(tmp_path: Path) -> None:
    config = tmp_path / "config" / "telemetry_config.json"
    config.parent.mkdir(parents=True)
    config.write_bytes(b'{"enabled": true, "anonym')
    with recording_service(tmp_path, enabled=False) as service:
        assert service.is_enabled() is False
    assert list(config.parent.glob("telemetry_config.json.corrupt-*"))


def test_a_hung_exporter_does_not_keep_the_process_from_exiting(tmp_path: Path) -> None:
    code = f"""
        import time
        from exporters.duckdb_exporter import DuckDBSpanExporter
        DuckDBSpanExporter.export = lambda self, spans: time.sleep(600)
        from telemetry import TelemetryService, TelemetrySettings
        s = TelemetryService(TelemetrySettings(home={str(tmp_path)!r}, install_global=False,
                             sample_resources=False, shutdown_timeout_s=1.0, flush_interval_s=0.05))
        s.enable().result(10)
        for i in range(100):
            s.track_event_sync("stuck", {{"i": i}})
        time.sleep(0.3)
        print("exiting", flush=True)
    """
    started = time.monotonic()
    result = run_python(code, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "exiting" in result.stdout
    assert time.monotonic() - started < 30  # generous: the point is that it exits at all


def test_kill_9_during_ingestion_loses_no_committed_event(tmp_path: Path) -> None:
    code = f"""
        from telemetry import TelemetryService, TelemetrySettings
        s = TelemetryService(TelemetrySettings(home={str(tmp_path)!r}, install_global=False,
                             sample_resources=False, flush_interval_s=0.05))
        s.enable().result(10)
        committed = 0
        while True:
            for i in range(200):
                s.track_event_sync("ingest", {{"i": i}})
            if s.flush(timeout_s=30):
                committed += 200
                print(committed, flush=True)
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    last = 0
    for line in proc.stdout:
        last = int(line)
        if last >= 2_000:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    proc.stdout.close()
    db = tmp_path / "telemetry" / "events.duckdb"
    assert span_count(db) >= last


@pytest.mark.timeout(240)
def test_two_processes_share_one_data_home_and_lose_nothing(tmp_path: Path) -> None:
    with recording_service(tmp_path):
        pass  # consent given once, for both processes
    code = f"""
        import sys
        from telemetry import TelemetryService, TelemetrySettings
        s = TelemetryService(TelemetrySettings(home={str(tmp_path)!r}, install_global=False,
                             sample_resources=False, flush_interval_s=0.02, batch_size=50))
        for i in range(1500):
            s.track_event_sync("worker", {{"proc": sys.argv[1], "i": i}})
        assert s.flush(timeout_s=120)
        s.shutdown(timeout=30)
        print(s.stats().model_dump_json(), flush=True)
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), name], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for name in ("a", "b")
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=200)
        assert proc.returncode == 0, err
    con = duckdb.connect(str(tmp_path / "telemetry" / "events.duckdb"), read_only=True)
    try:
        counts = dict(con.execute(
            f"SELECT attributes->>'proc', count(*) FROM {schema.SPANS} GROUP BY 1"
        ).fetchall())  # fmt: skip
    finally:
        con.close()
    assert counts == {"a": 1500, "b": 1500}
