"""demo: needs consent, records a realistic workload that the anonymizer visibly cleans, shows progress."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path

from _cli_helpers import Runner, assert_one_line_error, clean_env, command

from exporters.eventlog import schema
from telemetry.demo import run_demo
from telemetry.testing import recording_service, stored_events


def test_demo_without_consent_exits_1_and_says_so(cli: Runner, home: Path) -> None:
    result = cli("demo", "--events", "10")
    assert_one_line_error(result, "telemetry is off", f"`peft-telemetry --home {home} enable`")
    assert json.loads(cli("status", "--json").stdout)["event_log"]["spans"] == 0


def test_demo_under_do_not_track_names_the_reason(cli: Runner) -> None:
    assert cli("enable").code == 0
    assert_one_line_error(cli("demo", "--events", "10", env={"DO_NOT_TRACK": "1"}), "DO_NOT_TRACK")


def test_demo_records_exactly_what_it_says(cli: Runner, home: Path) -> None:
    assert cli("enable").code == 0
    result = cli("demo", "--events", "200", "--seed", "11")
    assert result.code == 0, result.stderr
    assert "Recorded 200 records" in result.stdout
    # The suggested next commands read the same data home as this one.
    next_line = next(line for line in result.stdout.splitlines() if line.startswith("Next:"))
    assert f"`peft-telemetry --home {home} query --report summary`" in next_line, next_line
    assert "dropped" not in result.stderr
    sql = "SELECT count(*) FILTER (WHERE name <> 'training_run') AS records FROM spans"
    stored = json.loads(cli("query", sql, "--format", "json").stdout)[0]["records"]
    assert stored == 200


def test_the_workload_is_realistic_and_nothing_personal_is_stored(tmp_path: Path) -> None:
    with recording_service(tmp_path / "home") as service:
        summary = run_demo(service, 600, seed=5)
        rows = stored_events(service)
        with service.event_log.reader() as cur:
            traces = [r[0] for r in cur.execute(f"SELECT attributes FROM {schema.SPAN_EVENTS}").fetchall()]
    assert summary.records == 600
    assert summary.errors >= 1 and summary.training_runs >= 2 and summary.app_sessions >= 2
    assert len([r for r in rows if r["name"] != "training_run"]) == 600
    by_type = {r["event_type"] for r in rows}
    assert {"app_started", "model_loaded", "training_started", "performance", "error"} <= by_type
    errors = [r for r in rows if r["category"] == "error"]
    assert "torch.cuda.OutOfMemoryError" in {r["error_type"] for r in errors}
    stacks = [json.loads(t)["exception.stacktrace"] for t in traces]
    assert any("module.py" in s and "train.py" in s for s in stacks)  # file names survive ...
    stored = json.dumps(rows) + json.dumps(traces)
    for secret in ("/home/alice", "/Users/bob", "site-packages", "@example.com", "@gmail.com"):
        assert secret not in stored, secret  # ... folders and e-mails do not
    assert not re.search(r"hf_[A-Za-z0-9]{30}", stored)  # nor Hugging Face tokens
    assert any(r["redactions"] for r in rows)
    sessions = {r["session_id"] for r in rows if r["category"] == "event"}
    assert len(sessions) >= summary.app_sessions


def test_progress_bar_on_a_terminal(home: Path) -> None:
    env = clean_env(home)
    assert subprocess.run([*command(), "enable"], env=env, capture_output=True, check=False).returncode == 0
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*command(), "demo", "--events", "3000", "--seed", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert done.returncode == 0
    text = shown.decode(errors="replace")
    assert "\rrecording [" in text and "3,000/3,000" in text
    assert b"recording" not in done.stdout  # the bar goes to the terminal only
