"""An opt-out in one process stops what another process sharing the home STORES at once: nothing process A
recorded after process B's ``disable()`` returned reaches the event log, although A only notices the
opt-out at its next consent poll (up to ``consent_poll_s`` later). What A recorded before it is kept."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from tests.core._consent_child import spawn as _spawn
from tests.core._consent_child import store

TRIALS = 3


def _trial(home: Path, out: Path) -> tuple[int, int, dict[int, int], dict[int, int], int]:
    """One run: A streams, B disables; returns B's before/after clocks, A's (seq -> time after the
    call) and the stored (seq -> start_ns), and what A counted as dropped."""
    on = store(home)
    on.set_enabled(True)
    on.save()
    a = _spawn("stream", str(home), str(out))
    assert a.stdin is not None and a.stdout is not None
    try:
        assert a.stdout.readline().strip() == "ready", a.stderr.read() if a.stderr else ""
        time.sleep(0.4)  # A streams with consent on; part of it is stored, part queued
        b = _spawn("disable", str(home))
        b_out, b_err = b.communicate(timeout=60)
        assert b.returncode == 0, b_err
        _, before, _, after = b_out.split()
        time.sleep(1.5)  # longer than A's consent poll (1 s): A recorded, then noticed, then stopped
        a.stdin.write("stop\n")
        a.stdin.flush()
        word, dropped = a.stdout.readline().split()
        assert word == "dropped"
    finally:
        a.stdin.close()
        a.wait(timeout=60)
    recorded = {int(s): int(t) for s, t in (line.split() for line in out.read_text().splitlines())}
    con = duckdb.connect(str(home / "telemetry" / "events.duckdb"), read_only=True)
    try:
        rows = con.sql(
            "SELECT CAST(json_extract(attributes, '$.seq') AS BIGINT), start_ns FROM spans WHERE event_type = 'stream'"
        ).fetchall()
    finally:
        con.close()
    stored = {int(seq): int(start) for seq, start in rows}
    return int(before), int(after), recorded, stored, int(dropped)


def test_nothing_recorded_after_another_process_disabled_is_stored(tmp_path: Path) -> None:
    for trial in range(TRIALS):
        before, after, recorded, stored, dropped = _trial(tmp_path / f"home-{trial}", tmp_path / f"a-{trial}.txt")
        late = [seq for seq, t in recorded.items() if t > after]
        assert late, "A must have gone on recording after B's disable() returned (the window under test)"
        stored_late = {seq: start for seq, start in stored.items() if start >= after}
        assert not stored_late, f"trial {trial}: {len(stored_late)} events started after the opt-out were stored"
        assert not set(late) & set(stored), f"trial {trial}: events recorded after the opt-out were stored"
        assert dropped > 0  # counted, not silently lost
        # The control: everything A recorded (the call returned) before B called disable() is stored.
        early = {seq for seq, t in recorded.items() if t < before}
        assert early, "A must have recorded before the opt-out"
        missing = early - set(stored)
        assert not missing, f"trial {trial}: {len(missing)} of {len(early)} events recorded before the opt-out lost"
