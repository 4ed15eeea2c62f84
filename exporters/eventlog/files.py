"""The event log's files: owner-only modes, durable renames, overwriting and removing them.

On POSIX the folders the event log creates are 0700 and its files 0600 (DuckDB creates the database and
WAL with the umask's mode, so they are repaired at every open and close; the folder being 0700 already
keeps others out in between). On Windows ``chmod`` only toggles the read-only flag: the user profile's
ACL is what protects the files there.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from exporters.eventlog.errors import EventLogError
from exporters.fs import PRIVATE_FILE_MODE, fsync_dir, make_private_dirs, restrict_to_owner, wipe

__all__ = [
    "data_files",
    "erase_done",
    "erasing_marker",
    "file_id",
    "finish_interrupted_erase",
    "fsync_dir",
    "make_private_dirs",
    "restrict_to_owner",
    "wal_path",
    "wipe",
    "wipe_data_files",
]


def wal_path(db: Path) -> Path:
    """DuckDB's write-ahead log of ``db``."""
    return db.with_name(db.name + ".wal")


def data_files(db: Path) -> list[Path]:
    """Every file that may hold recorded data: the database, its WAL, set-aside WALs and databases
    (``*.corrupt-*``), the spill folder, the spool folder (every process's spool file)."""
    parent, name = db.parent, db.name
    if not parent.exists():
        return []
    # The spool and WALs first: they are what would bring rows back into a fresh database.
    found = [parent / f"{name}.spool"]
    found += sorted(p for p in parent.iterdir() if p.name.startswith((f"{name}.wal", f"{name}.corrupt-")))
    found += [parent / f"{name}.tmp", db]
    return [p for p in found if p.exists() or p.is_symlink()]


def file_id(path: Path) -> tuple[int, int]:
    """``(device, inode)`` of ``path``, ``(0, 0)`` when it is gone: tells a file removed or replaced."""
    try:
        info = os.stat(path)
    except OSError:
        return (0, 0)
    return (info.st_dev, info.st_ino)


def erasing_marker(db: Path) -> Path:
    """``<db>.erasing``: an erase of ``db`` began and has not finished (see :func:`wipe_data_files`)."""
    return db.with_name(db.name + ".erasing")


def wipe_data_files(db: Path) -> None:
    """Overwrite and remove every data file of ``db`` (:func:`data_files`), the intent made durable first.

    Why: a process killed half way through an erase (kill -9, power loss) would leave some files behind: a
    spool or WAL that the next open merges or replays into the fresh database, bringing erased rows back.
    So ``<db>.erasing`` is created and fsynced before the first byte goes, and only :func:`erase_done`
    removes it, once the fresh database exists; whoever opens the log next and finds it finishes the wipe
    first (``instance.py``). Raises OSError.

    Example: ``wipe_data_files(db); <create the fresh database>; erase_done(db)``
    """
    marker = erasing_marker(db)
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE_MODE)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(db.parent)
    for path in data_files(db):
        wipe(path)
    fsync_dir(db.parent)


def erase_done(db: Path) -> None:
    """The erase of ``db`` finished (its fresh database is in place): forget the intent."""
    with contextlib.suppress(FileNotFoundError):
        erasing_marker(db).unlink()
    fsync_dir(db.parent)


def finish_interrupted_erase(db: Path) -> bool:
    """Under the inter-process lock, before DuckDB opens ``db``: when an erase was cut short (its marker is
    left, ``files.wipe_data_files``), wipe what is left of the old data now, before DuckDB could replay a
    WAL or a merge bring a spool back. True when it did (the caller removes the marker once the fresh
    database exists)."""
    if not erasing_marker(db).exists():
        return False
    try:
        wipe_data_files(db)
    except OSError as exc:
        raise EventLogError(f"cannot finish an interrupted erase of the event log ({type(exc).__name__})") from exc
    logging.getLogger("exporters.eventlog").warning(
        "event log: an erase was interrupted (the process died); it was finished before any read"
    )
    return True
