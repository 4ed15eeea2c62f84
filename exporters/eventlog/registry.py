"""One ``SharedDatabase`` per file per process, however many ``EventLog`` objects point at it.

Sharing matters: two ``EventLog`` objects on one file that each held their own lock would make one
process wait for itself (and a nested use of both on one thread would never return). The registry also
closes lingering instances at exit and forgets the parent's instances in a forked child.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from exporters.eventlog.instance import SharedDatabase

_REGISTRY: dict[str, tuple[SharedDatabase, int]] = {}
_REGISTRY_LOCK = threading.Lock()
# Instances closed while a thread was still inside them (``SharedDatabase.closing_late``): waited for at exit.
_LATE: list[SharedDatabase] = []
_EXIT_GRACE_S = 2.0


def attach(path: Path, config: dict[str, Any], linger_s: float) -> SharedDatabase:
    key = os.path.realpath(path)
    with _REGISTRY_LOCK:
        db, users = _REGISTRY.get(key, (None, 0))
        if db is None:
            db = SharedDatabase(Path(key), config, linger_s)
        _REGISTRY[key] = (db, users + 1)
        return db


def detach(db: SharedDatabase, timeout: float) -> None:
    key = str(db.path)
    with _REGISTRY_LOCK:
        found, users = _REGISTRY.get(key, (None, 0))
        if found is not db:
            return
        if users > 1:
            _REGISTRY[key] = (db, users - 1)
            return
        del _REGISTRY[key]
    db.close(timeout)
    if db.closing_late:
        _LATE.append(db)


def _close_all_at_exit() -> None:
    with _REGISTRY_LOCK:
        dbs = [db for db, _ in _REGISTRY.values()]
        _REGISTRY.clear()
    for db in dbs:
        with contextlib.suppress(Exception):
            db.close(timeout=2.0)
    _wait_for_late_users(_EXIT_GRACE_S)


def _wait_for_late_users(grace_s: float) -> None:
    """Wait (bounded) until every instance a close left to a thread still inside it is closed. A daemon
    thread still in a DuckDB call when the interpreter finalizes is killed as it takes the GIL back, and
    DuckDB's C++ turns that into ``std::terminate``: the app would abort (SIGABRT) on its way out."""
    deadline = time.monotonic() + grace_s
    while any(db.closing_late for db in list(_LATE)) and time.monotonic() < deadline:
        time.sleep(0.01)


def _after_fork_in_child() -> None:
    global _REGISTRY_LOCK
    _REGISTRY_LOCK = threading.Lock()
    for db, _ in _REGISTRY.values():
        db.forget_after_fork()


atexit.register(_close_all_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
