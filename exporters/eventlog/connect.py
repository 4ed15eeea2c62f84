"""Opening the DuckDB file once our lock is held: wait out foreign connections, set damage aside.

Our ``FileLock`` queues the processes that use it, but a plain DuckDB connection elsewhere (a user's
notebook, a tool) ignores it; ``duckdb.connect`` then fails at once with a lock conflict. There is no
queue to join, so that is retried with backoff until the caller's deadline, then reported as
``EventLogLockTimeout``. A damaged database or WAL is set aside by ``recovery.py`` and the open retried,
so the caller always gets a writable file or a typed error.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import duckdb

from exporters.eventlog import recovery
from exporters.eventlog.errors import EventLogError, EventLogLockTimeout
from exporters.eventlog.files import wal_path

_LOCK_CONFLICT = "Could not set lock"


def connect(path: Path, config: dict[str, Any], deadline: float) -> duckdb.DuckDBPyConnection:
    """Open ``path`` read-write (the caller holds the event log lock), repairing damage on the way."""
    delay = 0.005
    repaired: Path | None = None
    replay = recovery.WalReplayCheck(path)
    try:
        replay.before_open(path, config)
    except OSError as exc:
        raise EventLogError(f"cannot open the event log ({type(exc).__name__})") from exc
    while True:
        try:
            conn = duckdb.connect(str(path), config=config)
        except duckdb.Error as exc:
            message = str(exc)
            wal = wal_path(path)
            if _LOCK_CONFLICT in message:
                # A connection that does not take our lock; it has no queue to join, so poll.
                if time.monotonic() + delay > deadline:
                    replay.abandon()
                    raise EventLogLockTimeout(
                        "event log file is held by a process that does not use the event log lock"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
                continue
            try:
                if wal.exists() and recovery.is_wal_damage(message, wal):
                    replay.abandon()  # this damage is named and logged here
                    if repaired is None:
                        repaired = recovery.set_wal_aside(wal, message)
                        continue
                    if wal.exists():  # the salvaged prefix failed too: open without any WAL
                        wal.unlink()
                        continue
                if path.exists() and recovery.is_database_damage(message):
                    replay.abandon()
                    recovery.set_database_aside(path, message)
                    continue
            except OSError as move_failed:
                raise EventLogError(f"cannot set the damaged event log aside ({move_failed})") from exc
            replay.abandon()
            raise EventLogError(f"cannot open the event log ({type(exc).__name__})") from exc
        if replay.after_open(conn):
            conn.close()
            try:
                replay.set_aside()
            except OSError as exc:
                raise EventLogError(f"cannot set the skipped write-ahead log aside ({exc})") from exc
            continue
        return conn
