"""Errors of the event log. Runtime callers (the exporters) catch them; only constructors raise
``ValueError`` for wrong configuration."""

from __future__ import annotations


class EventLogError(Exception):
    """The event log could not do what was asked (I/O, damaged file, newer schema). Messages never
    contain recorded values."""


class EventLogLockTimeout(EventLogError):
    """Another process (or a foreign DuckDB connection) held the database longer than the timeout."""


class EventLogClosed(EventLogError):
    """The ``EventLog`` was closed."""
