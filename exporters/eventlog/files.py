"""Overwriting and removing the event log's files (for ``EventLog.erase``)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_WIPE_CHUNK = 1 << 20


def data_files(db: Path) -> list[Path]:
    """Every file that may hold recorded data: the database, its WAL, set-aside WALs, the spill folder."""
    parent, name = db.parent, db.name
    if not parent.exists():
        return []
    found = [db, parent / f"{name}.tmp"]
    found += sorted(p for p in parent.iterdir() if p.name.startswith(f"{name}.wal"))
    return [p for p in found if p.exists() or p.is_symlink()]


def wipe(path: Path) -> None:
    """Overwrite a file (or every file below a folder) with zeros, then remove it."""
    if path.is_symlink():
        path.unlink()
        return
    if path.is_dir():
        for child in path.iterdir():
            wipe(child)
        path.rmdir()
        return
    if not path.exists():
        return
    size = path.stat().st_size
    zeros = bytes(min(size, _WIPE_CHUNK))
    with open(path, "r+b") as f:
        left = size
        while left > 0:
            left -= f.write(zeros[: min(left, len(zeros))])
        f.flush()
        os.fsync(f.fileno())
    path.unlink()


def fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
