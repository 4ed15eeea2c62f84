"""The event log: one DuckDB file of anonymized spans, metric points and the consent ledger.

Modules, each owning one thing:

- ``log``: :class:`EventLog`, the public face (append, read, erase, prune).
- ``instance``: the per-process open DuckDB instance and its hand-over to other processes.
- ``lock``: the cross-process file lock beside the database.
- ``connect``: opening the DuckDB file (waiting out foreign connections, setting damage aside).
- ``registry``: one instance per database path within the process.
- ``schema``: tables, columns and the schema version (the single home of every table and column name).
- ``migrate``: upgrades files written by older schema versions; the one ``transaction()`` helper.
- ``prune``: bounded storage (count and age caps, a clock that jumped is not trusted).
- ``arrow``: finished spans and metric points -> rows and Arrow tables for bulk inserts.
- ``insert``: the INSERT statements (as written, or skipping what is stored); spooled rows to Arrow;
  merging spools.
- ``spool``: the per-process spool file flushes go to, merged into DuckDB every ``merge_interval_s``.
- ``frames``: the spool's checksummed frames of plain rows (orjson; Arrow is built per merge).
- ``files``: the database's companion files (WAL, set-aside copies, spill folder), owner-only modes.
- ``errors``: the typed errors readers and writers see; ``checks``: argument checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporters._lazy import lazy_exports

if TYPE_CHECKING:
    from exporters.eventlog.errors import EventLogClosed, EventLogError, EventLogLockTimeout
    from exporters.eventlog.log import EventLog, EventLogStats

# Imported on first use, not with the package (see exporters/_lazy.py for why).
_EXPORTS = {
    "EventLogClosed": "errors",
    "EventLogError": "errors",
    "EventLogLockTimeout": "errors",
    "EventLog": "log",
    "EventLogStats": "log",
}
__all__ = ["EventLog", "EventLogClosed", "EventLogError", "EventLogLockTimeout", "EventLogStats"]
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
