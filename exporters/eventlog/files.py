"""The event log's files: owner-only modes, durable renames, overwriting and removing them.

On POSIX the folders the event log creates are 0700 and its files 0600 (DuckDB creates the database and
WAL with the umask's mode, so they are repaired at every open and close; the folder being 0700 already
keeps others out in between). On Windows ``chmod`` only toggles the read-only flag: the user profile's
ACL is what protects the files there.
"""

from __future__ import annotations

from pathlib import Path

from exporters.fs import fsync_dir, make_private_dirs, restrict_to_owner, wipe

__all__ = ["data_files", "fsync_dir", "make_private_dirs", "restrict_to_owner", "wal_path", "wipe"]


def wal_path(db: Path) -> Path:
    """DuckDB's write-ahead log of ``db``."""
    return db.with_name(db.name + ".wal")


def data_files(db: Path) -> list[Path]:
    """Every file that may hold recorded data: the database, its WAL, set-aside WALs and databases
    (``*.corrupt-*``), the spill folder, the spool folder (every process's spool file)."""
    parent, name = db.parent, db.name
    if not parent.exists():
        return []
    found = [db, parent / f"{name}.tmp", parent / f"{name}.spool"]
    found += sorted(p for p in parent.iterdir() if p.name.startswith((f"{name}.wal", f"{name}.corrupt-")))
    return [p for p in found if p.exists() or p.is_symlink()]
