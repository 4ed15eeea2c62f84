"""kill -9 of an install and of the hub mid-batch, and a hub that is offline and comes back: every event
arrives, and reports count each once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from _fleet_helpers import (
    Hub,
    cli,
    free_port,
    lake_rows,
    query_lake,
    rows_of,
    share_status,
    start_hub,
    start_install,
    wait_for,
)

EVENTS = 3000
SMALL_BATCHES = {"PEFT_TELEMETRY_SHARE_BATCH": "25"}


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def _summary_events(lake: Path) -> int:
    summary = query_lake(lake, "summary", "--min-installs", "1")
    return int(summary["totals"]["events"])


def test_kill_9_of_an_install_mid_batch_loses_and_doubles_nothing(hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "install"
    cli(home, "enable")
    cli(home, "share", "enable", "--endpoint", hub.endpoint)
    install_id = share_status(home)["install_id"]
    process = start_install(home, EVENTS, 120, **SMALL_BATCHES)
    wait_for(lambda: rows_of(hub.lake, install_id) > 0, "the first batches", 120)
    _kill(process)
    sent_before = rows_of(hub.lake, install_id)
    assert 0 < sent_before < EVENTS  # killed mid-way through sending

    restarted = start_install(home, 0, 120, **SMALL_BATCHES)
    wait_for(lambda: rows_of(hub.lake, install_id) == EVENTS, "every event after the restart", 120)
    restarted.terminate()
    restarted.wait(30)
    assert _summary_events(hub.lake) == EVENTS


def test_kill_9_of_the_hub_and_an_offline_hub(tmp_path: Path) -> None:
    lake, port = tmp_path / "lake", free_port()
    hub = start_hub(lake, port)
    home = tmp_path / "install"
    cli(home, "enable")
    cli(home, "share", "enable", "--endpoint", hub.endpoint)
    install_id = share_status(home)["install_id"]
    process = start_install(home, EVENTS, 180, **SMALL_BATCHES)
    try:
        wait_for(lambda: rows_of(lake, install_id) > 0, "the first batches", 120)
        hub.kill()  # mid-batch: the sender's request fails or its answer is lost
        stored = rows_of(lake, install_id)
        assert 0 < stored < EVENTS
        # The hub stays offline over several of the install's retry rounds: nothing is lost meanwhile.
        time.sleep(3)
        hub = start_hub(lake, port)
        wait_for(lambda: rows_of(lake, install_id) == EVENTS, "every event after the hub came back", 180)
    finally:
        _kill(process)
        hub.stop()
    assert _summary_events(lake) == EVENTS
    assert len({row[0] for row in lake_rows(lake)}) == EVENTS
