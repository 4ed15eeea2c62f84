"""Temporary files a killed writer left in the lake: found by their lock, removed.

Every file is written under a dot-name and renamed when complete (``writer.publish_parquet``), so readers
never count a temporary file. But a writer killed before its rename (a hub, a compaction or a deletion
killed mid-write) leaves one behind for good: disk that is never freed and, worse, rows a deletion must not
leave behind (``delete_install`` would confirm the deletion of an install whose rows sit in such a file).
A writer holds ``fcntl.flock`` on its temporary file until the rename, so a temporary file that *can* be
locked is a dead writer's, whatever its age, on any machine sharing the lake's file system lock, and is
removed; a live writer's is left alone.

Example::

    removed = remove_leftovers(lake / "spans" / "day=2026-12-05")
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock to tell a dead writer's file from a live one's
    fcntl = None  # type: ignore[assignment]

__all__ = ["hold", "remove_leftovers"]

# ``.<final name>.parquet.<hex>.tmp``: what ``publish_parquet`` writes (never a published name).
_TEMP = re.compile(r"^\..+\.parquet\.[0-9a-f]+\.tmp$")


def hold(fd: int) -> None:
    """Mark the temporary file open at ``fd`` as being written (until ``fd`` is closed)."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def remove_leftovers(folder: Path) -> int:
    """Remove the temporary files in ``folder`` whose writer died; returns how many went."""
    if fcntl is None:
        return 0
    try:
        names = [entry.name for entry in os.scandir(folder) if _TEMP.match(entry.name)]
    except OSError:
        return 0
    removed = 0
    for name in names:
        path = folder / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue  # renamed or removed meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                os.unlink(path)
                removed += 1
        except OSError:
            pass  # its writer is alive (locked), or it went meanwhile
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
    return removed
