"""Opening a damaged event log: set the damaged file aside, say so loudly, and keep recording.

Three kinds of damage, each ending in a fresh, writable log and one ERROR line that names what was lost
and where the damaged file now is (``<file>.corrupt-<time>-<ns>``; ``delete_all`` erases these too):

* A **database file** DuckDB refuses (garbage, truncated, a checksum failure): the file and its WAL
  are moved aside and a new, empty database is created. Its events are not readable by this app.
* A **WAL** DuckDB refuses to replay (a checksum error in an entry): the WAL is moved aside, and the
  intact prefix before the damaged entry is replayed when DuckDB names its position.
* A **WAL** DuckDB silently skips (garbage, a wrong header, truncated to nothing useful): DuckDB opens
  without an error but restores nothing from it. :class:`WalReplayCheck` counts the rows the database
  holds without the WAL and with it; a non-empty WAL that changed nothing is moved aside and logged, and
  the database is opened again without it (a skipped WAL left in place would swallow new commits too).
  A WAL cut short after some entries cannot be told from a write torn by a crash, so before any leftover
  WAL is replayed a copy is kept beside it (``<db>.wal.replayed-<time>-<ns>``, mode 0600; ``delete_all``
  erases it with the rest): the replay is logged (warning) with the bytes found, the rows restored and
  the copy's path, so whatever the replay could not restore is still on disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import duckdb

from exporters._failure_log import FailureLog
from exporters.eventlog import schema
from exporters.eventlog.files import fsync_dir, wal_path

logger = logging.getLogger("exporters.eventlog")
# While the disk is full, this process's own close cannot checkpoint: its WAL stays, and every reopen (each
# retry, every ~2 s) replays it and tries to copy it. Each notice is logged once per log file, then counted.
notices = FailureLog(logger, logging.WARNING)

_WAL_POSITION = re.compile(r"byte position (\d+)")
# What DuckDB says when the database file itself is unreadable (as opposed to busy, locked or the disk
# being full, which must never cost the file).
_DATABASE_DAMAGE = (
    "not a valid DuckDB database file",
    "Could not read enough bytes",
    "Corrupt database file",
    "block checksum",
    "Checksum mismatch",
)
# A WAL smaller than this holds no entry: its absence of rows says nothing.
_MIN_WAL_WITH_ENTRIES = 64


def aside_name(path: Path, kind: str = "corrupt") -> Path:
    return path.with_name(f"{path.name}.{kind}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns()}")


#: Copies of replayed WALs kept beside the log (the newest): every crash leaves one, so they are bounded.
KEPT_REPLAY_COPIES = 3


def prune_replay_copies(wal: Path, keep: int = KEPT_REPLAY_COPIES) -> None:
    """Remove all but the ``keep`` newest ``<wal>.replayed-*`` copies (their names sort by time)."""
    copies = sorted(wal.parent.glob(f"{wal.name}.replayed-*"))
    for old in copies[: max(0, len(copies) - keep)]:
        with contextlib.suppress(OSError):
            old.unlink()


def _keep_copy(wal: Path) -> Path | None:
    """Copy the WAL about to be replayed to ``<wal>.replayed-<time>-<ns>`` (0600, fsynced); None (and a
    warning) when the copy cannot be made, a full disk for one: the replay goes ahead without it."""
    copy = aside_name(wal, "replayed")
    try:
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with open(wal, "rb") as src:
                while chunk := src.read(1 << 20):
                    os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        prune_replay_copies(wal)
        fsync_dir(wal.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            copy.unlink()
        notices.record(
            f"wal copy failed: {wal}",
            "event log: cannot keep a copy of the write-ahead log before replaying it (%s); whatever the "
            "replay cannot restore from it will not be recoverable (logged once)",
            type(exc).__name__,
        )
        return None
    return copy


def is_wal_damage(message: str, wal: Path) -> bool:
    return "Corrupt WAL" in message or "replaying WAL" in message or str(wal) in message


def is_database_damage(message: str) -> bool:
    return any(sign in message for sign in _DATABASE_DAMAGE)


def set_wal_aside(wal: Path, message: str) -> Path:
    """Move a WAL DuckDB refused aside; put back the prefix DuckDB vouched for, if it named one."""
    aside = aside_name(wal)
    os.replace(wal, aside)
    match = _WAL_POSITION.search(message)
    kept = int(match.group(1)) if match else 0
    if kept > 0:
        # Entries before the damaged one passed their checksums: replay them, lose only the rest.
        with open(aside, "rb") as src, open(wal, "wb") as dst:
            dst.write(src.read(kept))
            dst.flush()
            os.fsync(dst.fileno())
    fsync_dir(wal.parent)
    logger.error(
        "EVENT LOG WRITE-AHEAD LOG WAS DAMAGED and has been moved aside to %s; events after byte %d "
        "of it were lost, recording continues. DuckDB said: %s",
        aside,
        kept,
        _first_line(message),
    )
    return aside


def set_database_aside(db: Path, message: str) -> Path:
    """Move a database DuckDB cannot open (and its WAL) aside, so a fresh one can be created."""
    aside = aside_name(db)
    size = db.stat().st_size if db.exists() else 0
    os.replace(db, aside)
    wal = wal_path(db)
    if wal.exists():
        os.replace(wal, aside.with_name(aside.name + ".wal"))
    fsync_dir(db.parent)
    logger.error(
        "EVENT LOG DATABASE WAS DAMAGED and has been moved aside to %s (%d bytes); the events in it are "
        "no longer readable by this app, and a fresh event log was started. Recording continues. "
        "DuckDB said: %s",
        aside,
        size,
        _first_line(message),
    )
    return aside


class WalReplayCheck:
    """Notices a WAL DuckDB skipped without an error.

    :meth:`before_open` (database closed) counts what the database holds without its WAL: the WAL gets
    a second name (a hard link: no space needed, so this works on a full disk too), the first is
    removed, the database is opened read-only and counted, and the first name is restored. A crash in
    between leaves ``<db>.wal.checking``, which the next ``before_open`` puts back first.
    :meth:`after_open` compares with what the replaying connection sees; when it returns True the caller
    closes that connection and calls :meth:`set_aside`, then opens again (without the skipped WAL).
    """

    def __init__(self, db: Path) -> None:
        self._wal = wal_path(db)
        self._checking = self._wal.with_name(self._wal.name + ".checking")
        self._before: tuple[int, int] | None = None
        self._wal_bytes = 0
        self._copy: Path | None = None  # the WAL as it was before the replay

    def before_open(self, db: Path, config: dict[str, Any]) -> None:
        wal, checking = self._wal, self._checking
        if checking.exists():
            if wal.exists():
                checking.unlink()
            else:
                os.replace(checking, wal)  # a check interrupted by a crash: the WAL comes back first
        try:
            size = wal.stat().st_size
        except OSError:
            return
        if size < _MIN_WAL_WITH_ENTRIES or not db.exists():
            return
        self._wal_bytes = size
        self._copy = _keep_copy(wal)
        try:
            os.link(wal, checking)
        except OSError:
            return  # no hard links here: open without the check
        os.unlink(wal)
        try:
            self._before = _contents_without_wal(db, config)
        except duckdb.Error:
            self._before = None  # the database alone does not open: the open that follows says why
        finally:
            os.link(checking, wal)

    def after_open(self, conn: duckdb.DuckDBPyConnection) -> bool:
        """True when the WAL held bytes and replaying it changed nothing: it was skipped."""
        before, self._before = self._before, None
        copy, self._copy = self._copy, None
        if before is None or not self._wal.exists():
            self._drop_checking()
            if copy is not None:  # replayed, but what it restored was not counted
                notices.record(
                    f"wal replayed: {self._wal}",
                    "event log: replayed a write-ahead log left by a process that stopped without closing "
                    "the log (%d bytes); a copy of it as it was is kept at %s",
                    self._wal_bytes,
                    copy,
                )
            return False
        try:
            after = _contents(conn)
        except duckdb.Error:
            after = before
        if after == before:
            self._copy = copy  # set_aside moves the WAL itself aside: the copy then goes
            return True
        self._drop_checking()
        # Whether the WAL ended where its writer stopped or was cut short cannot be told: the copy stays.
        notices.record(
            f"wal replayed: {self._wal}",
            "event log: replayed a write-ahead log left by a process that stopped without closing the log "
            "(%d bytes, %d rows restored); a copy of it as it was is kept at %s",
            self._wal_bytes,
            after[0] - before[0],
            copy if copy is not None else "(no copy: it could not be made)",
        )
        return False

    def set_aside(self) -> Path:
        """Move the skipped WAL aside (the caller closed the connection) and log what was lost."""
        aside = aside_name(self._wal)
        os.replace(self._wal, aside)
        self._drop_checking()
        self._drop_copy()
        fsync_dir(self._wal.parent)
        logger.error(
            "EVENT LOG WRITE-AHEAD LOG COULD NOT BE REPLAYED: DuckDB restored nothing from it (%d bytes, "
            "left by a process that stopped without closing the log); the events in it are lost to this "
            "app and the file was moved aside to %s. Recording continues.",
            self._wal_bytes,
            aside,
        )
        return aside

    def abandon(self) -> None:
        """The open failed: the WAL is in place; drop the second name."""
        self._before = None
        self._drop_checking()
        self._drop_copy()  # the WAL was not replayed: the next open copies it again, or it is set aside

    def _drop_copy(self) -> None:
        copy, self._copy = self._copy, None
        if copy is not None:
            with contextlib.suppress(OSError):
                copy.unlink()

    def _drop_checking(self) -> None:
        with contextlib.suppress(OSError):
            self._checking.unlink()


def _contents_without_wal(db: Path, config: dict[str, Any]) -> tuple[int, int]:
    conn = duckdb.connect(str(db), read_only=True, config=config)
    try:
        return _contents(conn)
    finally:
        conn.close()


def _contents(conn: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(rows in the data tables, tables): what a replayed WAL changes, whatever it held."""
    present = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    tables = [t for t in schema.DATA_TABLES if t in present]
    if not tables:
        return 0, len(present)
    sql = " + ".join(f"(SELECT count(*) FROM {t})" for t in tables)  # noqa: S608 - schema constants
    row = conn.execute(f"SELECT {sql}").fetchone()
    return (int(row[0]) if row else 0), len(present)


def _first_line(message: str) -> str:
    return message.split("\n", 1)[0][:300]
