"""An erase killed half way (kill -9 after any of its files was wiped) is finished by the next open:
nothing erased comes back, neither from a dead process's spool nor from a WAL replayed into the fresh file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _exporter_helpers import REPO

from exporters.eventlog import EventLog

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kill -9 and the spool are POSIX-only")
CHILD = Path(__file__).with_name("_erase_child.py")
MARKER = b"erasedmarker"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(CHILD), *args], env=env, text=True, capture_output=True, timeout=120, check=False
    )


def _files_holding_marker(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and MARKER in p.read_bytes()]


def _filled(folder: Path) -> Path:
    db = folder / "ev.duckdb"
    fill = _run("fill", str(db))
    assert fill.returncode == -signal.SIGKILL, fill.stderr
    assert (db.parent / "ev.duckdb.wal").exists() and list((db.parent / "ev.duckdb.spool").iterdir())
    assert _files_holding_marker(folder)  # the byte search can see the rows: a positive control
    return db


@pytest.mark.parametrize("killed_after", [1, 2, 3])
def test_an_erase_killed_after_any_file_is_finished_by_the_next_open(tmp_path: Path, killed_after: int) -> None:
    db = _filled(tmp_path)
    erase = _run("erase", str(db), str(killed_after))
    assert erase.returncode == -signal.SIGKILL, erase.stderr  # the database, its WAL and a spool: 3 files
    with EventLog(db) as log, log.reader() as cur:
        assert cur.execute("SELECT count(*) FROM spans").fetchone() == (0,)
        assert cur.execute("SELECT count(*) FROM resources").fetchone() == (0,)
    assert _files_holding_marker(tmp_path) == []
    assert not (tmp_path / "ev.duckdb.erasing").exists()  # finished: the next open does not wipe again
    with EventLog(db) as log:
        log.append_spooled({})  # (nothing) the log is usable
        assert log.stats().spans == 0


def test_an_erase_that_finishes_leaves_no_marker_and_the_log_records(tmp_path: Path) -> None:
    db = _filled(tmp_path)
    assert _run("erase", str(db), "99").stdout.split() == ["done"]
    assert not (tmp_path / "ev.duckdb.erasing").exists()
    assert _files_holding_marker(tmp_path) == []
