"""Fault probes with real parts (a full tmpfs, child processes): the host app sees no exception, a fault
that lasts is logged once (not once per retry), and recording resumes without losing what was flushed."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

from test_disk_full import small_disk  # noqa: F401 - the tmpfs fixture

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def _child(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]), DO_NOT_TRACK="")
    return subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def test_a_trickle_through_a_full_disk_loses_nothing_and_logs_each_fault_once(small_disk: Path) -> None:  # noqa: F811
    # 8 s of a full disk: the spool takes the trickle while merges fail; every retry reopens the log.
    result = _child("_trickle_full_child.py", str(small_disk), "8")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["stored"] == report["sent"], report  # nothing lost: the spool and the queue held it all
    assert report["flushed"] is True
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "the fault must be logged"
    # The same notice names another file or count each time: lines are compared by their first words.
    repeated = {line: n for line, n in collections.Counter(line[:60] for line in lines).items() if n > 1}
    assert repeated == {}, f"a lasting fault logged once per retry: {repeated}"
    assert len(lines) <= 6, lines
