"""Pruning by age does not trust a clock that jumped ahead: a real process whose clock runs 100 days
fast writes to a log with earlier events and prunes none of them, and says so in its log."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _exporter_helpers import span_rows

from exporters.eventlog import EventLog, schema

DAY_NS = 86_400 * 10**9
ROOT = Path(__file__).resolve().parents[2]

# A writer process whose wall clock is OFFSET_DAYS off: its EventLog and its span stamps use that clock,
# as a process on a machine with a wrong clock would. Every append may prune (prune_interval_s=0).
_WRITER = textwrap.dedent(
    """
    import logging, sys, time
    from _exporter_helpers import span_rows
    from exporters.eventlog import EventLog, schema
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    offset = int(float(sys.argv[2]) * 86_400 * 10**9)
    clock = lambda: time.time_ns() + offset
    with EventLog(sys.argv[1], max_age_days=90, prune_interval_s=0, clock=clock) as log:
        for batch in range(3):
            now = clock()
            log.append(schema.SPANS, span_rows(list(range(10_000 + batch * 10, 10_010 + batch * 10)),
                                               start_ns=[now + i for i in range(10)]))
        print(log.stats().spans)
    """
)


def _run_writer(db: Path, offset_days: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(Path(__file__).parent)]))
    return subprocess.run(
        [sys.executable, "-c", _WRITER, str(db), str(offset_days)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def _seed(db: Path, starts: list[int]) -> None:
    with EventLog(db, prune_interval_s=3600, max_age_days=90) as log:
        log.append(schema.SPANS, span_rows(list(range(len(starts))), start_ns=starts))


def test_a_process_whose_clock_is_100_days_ahead_prunes_nothing_and_says_why(tmp_path: Path) -> None:
    db = tmp_path / "ev.duckdb"
    now = time.time_ns()
    _seed(db, [now - (200 - i) * 60 * 10**9 for i in range(200)])  # the last 200 minutes, real time
    result = _run_writer(db, 100)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 230  # nothing of the 200 earlier events went
    assert "age pruning is skipped" in result.stderr and "100." in result.stderr
    assert result.stderr.count("age pruning is skipped") == 1  # logged once, not at every prune
    with EventLog(db) as log:
        assert log.stats().spans == 230


def test_with_a_correct_clock_old_events_are_pruned_by_age(tmp_path: Path) -> None:
    """The control: the same writer with a correct clock does prune what is over 90 days old."""
    db = tmp_path / "ev.duckdb"
    now = time.time_ns()
    _seed(db, [now - 100 * DAY_NS + i for i in range(50)] + [now - DAY_NS + i for i in range(150)])
    result = _run_writer(db, 0)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == 180  # the 50 rows from 100 days ago went, the rest stayed
    assert "age pruning is skipped" not in result.stderr
