"""Errors of the event log. Runtime callers (the exporters) catch them; only constructors raise
``ValueError`` for wrong configuration."""

from __future__ import annotations

import duckdb


class EventLogError(Exception):
    """The event log could not do what was asked (I/O, damaged file, newer schema). Messages never
    contain recorded values."""


class EventLogLockTimeout(EventLogError):
    """Another process (or a foreign DuckDB connection) held the database longer than the timeout."""


class EventLogClosed(EventLogError):
    """The ``EventLog`` was closed."""


# What DuckDB and the OS say when the disk (or DuckDB's temp allowance fixed at open) is full.
_DISK_FULL = ("No space left on device", "max_temp_directory_size", "Disk full", "disk is full")


def is_disk_full(exc: BaseException) -> bool:
    return any(sign in str(exc) for sign in _DISK_FULL)


def failure_message(what: str, exc: BaseException) -> str:
    """A message for ``EventLogError`` that names the cause and the fix, never a recorded value (DuckDB's
    own message may quote one, so it is not copied)."""
    if is_disk_full(exc):
        return (
            f"{what} failed: the disk is full ({type(exc).__name__}). Free space where the event log is "
            "stored; until then events wait in memory and are retried, and those over the limit are "
            "dropped and counted"
        )
    return f"{what} failed ({type(exc).__name__})"


def needs_reopen(exc: BaseException) -> bool:
    """DuckDB invalidated the instance, or a write failed on I/O or memory (a full disk: DuckDB fixes
    ``max_temp_directory_size`` from the free space when the file is opened, so only a reopen sees the
    space that came back)."""
    cause = exc if isinstance(exc, duckdb.Error) else exc.__cause__
    if isinstance(cause, duckdb.FatalException | duckdb.IOException | duckdb.OutOfMemoryException):
        return True
    return cause is not None and ("invalidated" in str(cause) or is_disk_full(cause))
