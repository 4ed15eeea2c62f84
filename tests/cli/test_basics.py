"""Help, usage errors, exit codes, the data home, settings errors and DO_NOT_TRACK."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import httpx
import pytest
from _cli_helpers import Runner, assert_one_line_error, clean_env, running

COMMANDS = ("status", "enable", "disable", "preview", "query", "export", "delete", "demo", "serve")


def test_help_explains_every_command(cli: Runner) -> None:
    top = cli("--help", use_flag=False)
    assert top.code == 0
    for name in COMMANDS:
        assert name in top.stdout
    assert "exit codes" in top.stdout
    for name in COMMANDS:
        sub = cli(name, "--help")
        assert sub.code == 0, (name, sub.stderr)
        assert f"usage: peft-telemetry {name}" in sub.stdout
        assert "--home" in sub.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["query", "SELECT 1", "--format", "xml"],
        ["export", "--format", "otlp-json"],
        ["export", "--format", "yaml", "--output", "x"],
        ["demo", "--events", "many"],
        ["status", "--bogus"],
        ["query", "--report", "nonsense"],
    ],
)
def test_usage_errors_exit_2(cli: Runner, argv: list[str]) -> None:
    result = cli(*argv, use_flag=False)
    assert result.code == 2, (result.code, result.stderr)
    assert "usage: peft-telemetry" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_of_a_fresh_home_is_off_and_empty_and_creates_no_database(cli: Runner, home: Path) -> None:
    result = cli("status")
    assert result.code == 0, result.stderr
    assert "disabled: not enabled (the default); `peft-telemetry enable` turns it on" in result.stdout
    assert "events.duckdb (not created yet" in result.stdout  # not "(0 B)" for a file that is not there
    assert "0 spans" in result.stdout
    assert str(home) in result.stdout
    assert not (home / "telemetry" / "events.duckdb").exists()
    data = json.loads(cli("status", "--json").stdout)
    assert data["consent"]["enabled"] is False
    assert data["consent"]["anonymous_id"] is None  # made on enable; a read creates no secret
    assert data["event_log"]["spans"] == 0
    assert data["retention"] == {"max_events": 1_000_000, "max_age_days": 90.0}


def test_home_flag_and_environment_point_at_the_same_data(cli: Runner, home: Path, tmp_path: Path) -> None:
    assert cli("enable").code == 0  # through --home
    via_env = cli("status", "--json", use_flag=False)  # through PEFT_STUDIO_HOME only
    assert json.loads(via_env.stdout)["consent"]["enabled"] is True
    before_command = cli("--home", str(home), "status", "--json", use_flag=False)
    assert json.loads(before_command.stdout)["consent"]["enabled"] is True
    other = cli("--home", str(tmp_path / "other"), "status", "--json", use_flag=False)
    assert json.loads(other.stdout)["consent"]["enabled"] is False


def test_do_not_track_wins_and_status_says_why(cli: Runner) -> None:
    assert cli("enable").code == 0
    result = cli("status", env={"DO_NOT_TRACK": "1"})
    assert result.code == 0
    assert "disabled: DO_NOT_TRACK is set\n" in result.stdout  # no hint to enable: it would not help
    data = json.loads(cli("status", "--json", env={"DO_NOT_TRACK": "1"}).stdout)
    assert data["consent"] | {"enabled": False, "user_choice": True, "do_not_track": True} == data["consent"]
    enabled = cli("enable", env={"DO_NOT_TRACK": "1"})
    assert enabled.code == 0
    assert "DO_NOT_TRACK is set" in enabled.stderr


def test_a_wrong_setting_is_one_line_exit_1(cli: Runner) -> None:
    result = cli("status", env={"PEFT_TELEMETRY_MAX_EVENTS": "lots"})
    assert_one_line_error(result, "invalid setting", "max_events")


def test_an_empty_home_is_refused(cli: Runner) -> None:
    assert_one_line_error(cli("status", "--home", "  ", use_flag=False), "--home")


def test_serve_refuses_a_port_out_of_range(cli: Runner) -> None:
    assert_one_line_error(cli("serve", "--port", "70000", "--no-browser"), "--port")


def test_serve_on_a_port_in_use_names_the_port_and_the_way_out(cli: Runner) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = str(taken.getsockname()[1])
        assert_one_line_error(cli("serve", "--port", port, "--no-browser"), f"port {port}", "in use", "--port 0")
    finally:
        taken.close()


def test_serve_answers_and_stops_cleanly_on_ctrl_c(home: Path) -> None:
    with running(["serve", "--port", "0", "--no-browser", "--home", str(home)], clean_env(home)) as process:
        assert process.stdout is not None
        url = ""
        for _ in range(5):
            line = process.stdout.readline()
            if "http://" in line:
                url = line.strip()
                break
        match = re.match(r"(http://127\.0\.0\.1:\d+)/", url)
        assert match, url
        answer = httpx.get(match.group(1) + "/api/telemetry/consent", timeout=30)
        assert answer.status_code == 200
        assert answer.json()["enabled"] is False
