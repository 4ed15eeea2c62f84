"""Temporary files of lake writers killed before their rename: never counted, removed by deletions and
compactions (a deletion must not leave the install's rows in one), while a live writer's are left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from exporters.lake import compact_day, delete_install, lake_files

pytestmark = pytest.mark.skipif(os.name != "posix", reason="writers lock their temporary files with flock")
ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("_lake_writer_child.py")
GONE, KEPT = "a" * 64, "b" * 64


def _writer(lake: Path, install_id: str, mode: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(lake), install_id, mode], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _killed_writer(lake: Path, install_id: str) -> None:
    proc = _writer(lake, install_id, "kill")
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _temps(lake: Path) -> list[Path]:
    return sorted(p for p in lake.rglob(".*.tmp"))


def _rows_of(lake: Path, install_id: str) -> int:
    """Rows of ``install_id`` in every Parquet file under the lake, temporary ones included."""
    found = 0
    for path in lake.rglob("*"):
        if path.is_file() and (path.suffix == ".parquet" or path.name.endswith(".tmp")):
            found += pq.read_table(path).column("install_id").to_pylist().count(install_id)
    return found


def test_a_deletion_removes_the_install_s_rows_from_a_killed_writer_s_temporary_file(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _killed_writer(lake, GONE)
    assert len(_temps(lake)) == 1 and _rows_of(lake, GONE) == 10  # 5 published, 5 in the leftover
    assert sum(pq.read_table(p).num_rows for p in lake_files(lake)) == 5  # readers never count the leftover
    assert delete_install(lake, GONE) == 5
    assert _temps(lake) == []
    assert _rows_of(lake, GONE) == 0


def test_a_live_writer_s_temporary_file_survives_a_deletion_and_a_compaction(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _killed_writer(lake, KEPT)
    proc = _writer(lake, KEPT, "pause")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "paused"
        temps = _temps(lake)
        assert len(temps) == 2  # the dead writer's and the live one's
        day = temps[0].parent.name.removeprefix("day=")
        replaced, rows = compact_day(lake, day)  # two published files of 5 rows
        assert (replaced, rows) == (2, 10)
        assert delete_install(lake, GONE) == 0
        # The dead writer's leftover went; the live one's is still there, and publishes when it resumes.
        assert len(_temps(lake)) == 1
    finally:
        _, err = proc.communicate("go\n", timeout=60)
    assert proc.returncode == 0, err
    assert _temps(lake) == []
    assert sum(pq.read_table(p).num_rows for p in lake_files(lake)) == 15
