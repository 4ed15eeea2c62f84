"""The fleet commands as a newcomer meets them: a hub that cannot listen, `--compact` that says what it
did, a `--lake` that is no lake, and fleet tables that show dates, with the real console script."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pyarrow as pa
from _cli_helpers import Runner, assert_one_line_error, clean_env, command, running

from exporters.lake import LAKE_SPANS_ARROW, LakeWriter

DAY_NS = 86_400 * 10**9


def _write_two_files_for_a_past_day(lake: Path, installs: int = 2) -> int:
    """Two hub files in one day three days ago (one row per install each); returns a start_ns used."""
    start = (time.time_ns() // DAY_NS - 3) * DAY_NS + 3_600 * 10**9
    for batch in range(2):
        rows = [
            {"share_id": f"{batch}-{i}", "install_id": f"install-{i}", "trace_id": f"{i:032x}",
             "span_id": f"{batch:016x}", "name": "app_started", "category": "event", "event_type": "app_started",
             "start_ns": start + i, "end_ns": start + i, "app_version": "1.0.0", "os_type": "linux",
             "received_ns": start + DAY_NS, "hub_id": "hub-a"}
            for i in range(installs)
        ]  # fmt: skip
        LakeWriter(lake).write(pa.Table.from_pylist(rows, LAKE_SPANS_ARROW))
    return start


def test_a_hub_that_cannot_listen_exits_1_and_names_the_fix(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*command(), "hub", "--lake", str(tmp_path / "lake"), "--port", str(port)],
            env=clean_env(tmp_path / "home"), capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        taken.close()
    assert done.returncode == 1, (done.returncode, done.stderr)  # not uvicorn's own 3: the documented codes
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("peft-telemetry: error: ") and f"127.0.0.1:{port}" in last and "--port 0" in last
    assert "http://" not in done.stdout  # no endpoint or dashboard URL for a port the hub never had


def test_a_hub_on_port_0_prints_the_urls_of_the_port_it_got(tmp_path: Path) -> None:
    import re

    import httpx

    with running(["hub", "--lake", str(tmp_path / "lake"), "--port", "0"], clean_env(tmp_path / "home")) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        endpoint = re.search(r"endpoint: (http://127\.0\.0\.1:(\d+))/fleet/\S+", lines[1])
        dashboard = re.search(r"dashboard: http://127\.0\.0\.1:(\d+)/\?token=", lines[2])
        assert endpoint and dashboard, lines
        assert endpoint.group(2) == dashboard.group(1) != "0"
        assert httpx.get(endpoint.group(1) + "/healthz", timeout=30).json()["status"] == "ok"


def test_compact_says_what_it_did_and_when_there_was_nothing(cli: Runner, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _write_two_files_for_a_past_day(lake)
    first = cli("hub", "--lake", str(lake), "--compact", use_flag=False)
    assert first.code == 0, first.stderr
    assert "2 files -> 1 (4 rows)" in first.stdout
    assert "Compacted 1 day(s)" in first.stdout
    again = cli("hub", "--lake", str(lake), "--compact", use_flag=False)
    assert again.code == 0, again.stderr
    assert again.stdout.startswith("Nothing to compact"), again.stdout


def test_a_folder_that_is_no_lake_is_one_line_for_every_lake_command(cli: Runner, tmp_path: Path) -> None:
    folder = tmp_path / "not-a-lake"
    folder.mkdir()
    (folder / "notes.txt").write_text("the lake's parent, say")
    for argv in (
        ("query", "--lake", str(folder), "--report", "fleet"),
        ("insights", "--lake", str(folder)),
        ("hub", "--lake", str(folder), "--compact"),
    ):
        assert_one_line_error(cli(*argv, use_flag=False), "holds no lake", "peft-telemetry hub --lake")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]  # nothing created in it
    empty = tmp_path / "empty"
    empty.mkdir()  # a lake no hub wrote to yet: reports nothing, no error
    answer = cli("query", "--lake", str(empty), "--report", "fleet", use_flag=False)
    assert answer.code == 0 and "(none, or fewer installs" in answer.stdout, answer.stderr


def test_fleet_tables_show_dates_and_json_keeps_nanoseconds(cli: Runner, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    start = _write_two_files_for_a_past_day(lake)
    table = cli("query", "--lake", str(lake), "--report", "fleet", "--min-installs", "1", use_flag=False)
    assert table.code == 0, table.stderr
    day = time.strftime("%Y-%m-%d", time.gmtime(start / 1e9))
    assert f"{day} 01:00:00 UTC" in table.stdout  # first_ns, readable
    assert str(start) not in table.stdout
    as_json = cli("query", "--lake", str(lake), "--report", "fleet", "--min-installs", "1", "--format", "json",
                  use_flag=False)  # fmt: skip
    assert f'"first_ns": {start}' in as_json.stdout


def test_share_status_says_what_sends_while_sharing_is_on(cli: Runner) -> None:
    assert cli("enable").code == 0
    on = cli("share", "enable", "--endpoint", "http://127.0.0.1:9/fleet/not-a-hub")  # nothing listens: no send
    assert on.code == 0, on.stderr
    assert "Sent by:" in on.stdout and "peft-telemetry serve" in on.stdout
    off = cli("share", "disable")
    assert off.code == 0, off.stderr
    assert "Sharing:            off" in off.stdout and "Sent by:" not in off.stdout


def test_a_spark_master_is_checked_before_a_jvm_starts(cli: Runner, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _write_two_files_for_a_past_day(lake)
    for command_argv in (("query", "--report", "summary"), ("insights",)):
        base = (*command_argv, "--lake", str(lake))
        wrong = cli(*base, "--engine", "spark", "--spark-master", "10.0.0.5:7077", use_flag=False)
        assert_one_line_error(wrong, "is not a Spark master URL", "spark://HOST:PORT")
        alone = cli(*base, "--spark-master", "spark://10.0.0.5:7077", use_flag=False)  # --engine left at duckdb
        assert_one_line_error(alone, "--spark-master needs --engine spark")
