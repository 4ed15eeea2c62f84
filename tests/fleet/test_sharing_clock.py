"""Sharing after the clock stepped back (NTP, a restored VM): the cursor saved before the step lies ahead of
every span recorded after it. Nothing recorded after the step may be left unsent."""

from __future__ import annotations

import time
from pathlib import Path

from _fleet_helpers import Hub, cli, rows_of, share_status, start_install, wait_for

from telemetry import sharing_state as st

HOUR_NS = 3600 * 10**9


def test_spans_recorded_after_the_clock_stepped_back_are_still_shared(hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "install"
    cli(home, "enable")
    cli(home, "share", "enable", "--endpoint", hub.endpoint)
    # The state a step of the clock one hour back leaves: cursors an hour ahead of what the clock reads now
    # (the system clock itself is shared with the rest of the machine, so the step is made in the cursor).
    data_dir = home / "telemetry"
    with st.locked(data_dir):
        state = st.load(data_dir)
        assert state is not None
        state.since_ns -= 2 * HOUR_NS  # sharing was enabled before the cursors, as in a real history
        state.cursor_end_ns = state.metrics_cursor_ns = time.time_ns() + HOUR_NS
        st.save(data_dir, state)
    install = start_install(home, 12, 60)
    try:
        install_id = share_status(home)["install_id"]
        wait_for(lambda: rows_of(hub.lake, install_id) == 12, "the events recorded after the step", timeout_s=45)
    finally:
        install.terminate()
        install.wait(30)
    assert rows_of(hub.lake, install_id, distinct=False) >= 12
