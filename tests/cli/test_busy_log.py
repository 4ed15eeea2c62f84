"""The CLI works while another process uses the event log: it waits its turn instead of failing, and
when the log stays busy longer than the lock timeout it says so in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from _cli_helpers import REPO, Runner, assert_one_line_error, clean_env

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from exporters.eventlog import EventLog

    log = EventLog(Path(sys.argv[1]), lock_timeout_s=30)
    with log.reader() as cur:
        cur.execute("SELECT count(*) FROM spans").fetchone()
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    log.close()
    """
)

_RECORDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from telemetry import TelemetryService, TelemetrySettings

    service = TelemetryService(TelemetrySettings(home=Path(sys.argv[1]), install_global=False,
                                                 sample_resources=False, flush_interval_s=0.02))
    print("recording", flush=True)
    deadline = time.monotonic() + float(sys.argv[2])
    n = 0
    while time.monotonic() < deadline:
        service.track_event_sync("busy_event", {"n": n})
        n += 1
        if n % 50 == 0:
            time.sleep(0.01)
    service.shutdown(timeout=30)
    print(n, flush=True)
    """
)


def _start(script: str, home: Path, seconds: float) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(home), str(seconds)],
        env=clean_env(home),
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() in ("holding", "recording")
    return process


def test_commands_wait_for_a_process_holding_the_log(cli: Runner, home: Path) -> None:
    assert cli("enable").code == 0
    assert cli("demo", "--events", "100", "--seed", "4").code == 0
    holder = _start(_HOLDER, home / "telemetry" / "events.duckdb", 2.0)
    try:
        result = cli("status", "--json")  # starts while the other process holds the file
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout)["event_log"]["spans"] >= 100
    finally:
        assert holder.wait(30) == 0
        assert holder.stdout is not None
        holder.stdout.close()


def test_every_reading_command_works_beside_a_recording_process(cli: Runner, home: Path) -> None:
    assert cli("enable").code == 0
    recorder = _start(_RECORDER, home, 6.0)
    try:
        for argv in (
            ("status",),
            ("query", "SELECT count(*) FROM spans"),
            ("export", "--format", "otlp-json", "--output", str(home.parent / "busy.jsonl")),
            ("export", "--format", "parquet", "--output", str(home.parent / "busy-parquet")),
            ("demo", "--events", "100"),
        ):
            result = cli(*argv)
            assert result.code == 0, (argv, result.stderr)
            assert "lock" not in result.stderr.lower(), result.stderr
    finally:
        assert recorder.wait(60) == 0
        assert recorder.stdout is not None
        recorded = int(recorder.stdout.readline())
        recorder.stdout.close()
    final = cli("query", "SELECT count(*) AS n FROM spans WHERE name = 'busy_event'", "--format", "json")
    assert json.loads(final.stdout)[0]["n"] == recorded  # and the recorder lost nothing


def test_a_log_busy_beyond_the_timeout_is_one_clear_line(cli: Runner, home: Path) -> None:
    assert cli("enable").code == 0
    assert cli("demo", "--events", "20", "--seed", "4").code == 0
    holder = _start(_HOLDER, home / "telemetry" / "events.duckdb", 6.0)
    try:
        result = cli("query", "SELECT 1", env={"PEFT_TELEMETRY_LOCK_TIMEOUT_S": "1"})
        assert_one_line_error(result, "busy")
    finally:
        holder.kill()
        holder.wait(30)
        assert holder.stdout is not None
        holder.stdout.close()
