"""One process's share of one DuckDB file: open briefly, share within the process, hand over to others.

DuckDB admits one read-write process or many read-only ones, and a refused opener gets an error rather
than a wait. Several processes (two copies of the app, the service, the CLI) use one data home, so no
process may keep the file open for long. The rules here:

* Every use enters through :meth:`SharedDatabase.cursor`. The first user in a process takes the
  inter-process lock (``lock.FileLock`` on ``<db>.lock``: blocking wait with a timeout), opens DuckDB,
  migrates the schema, and hands out a cursor; concurrent users in the same process get their own cursor
  on the same instance (a connection is not thread-safe, a cursor per thread is) and a reference count.
* When the count drops to zero the instance *lingers* open for ``linger_s`` so a busy exporter does not pay
  DuckDB's open+close for every batch. It is handed over when another process waits for the lock (it
  announces itself on ``<db>.lock.want``): after a pause in our use longer than ``_HANDOVER_IDLE_S``, or once
  our time slice ``_SLICE_S`` is over (then new users in this process queue up behind the other process,
  except nested uses on a thread that already holds a cursor). While lingering, a small daemon thread sleeps
  until the linger ends or a waiting process rings the lock's doorbell (``lock.py``), then probes the want
  file; only where the doorbell is unavailable does it probe on a timer, every ``_POLL_S``.
* Opening DuckDB is ``connect.py``'s: a foreign connection that ignores our lock is retried with backoff
  until the timeout (``EventLogLockTimeout``); a damaged database or WAL is set aside loudly (``recovery.py``).
* A write that fails on I/O, memory or a full disk drains the instance: the next use reopens DuckDB (which
  fixes ``max_temp_directory_size`` at open); so does a file removed under it (a stat per use: writes into a
  deleted file would vanish). DuckDB I/O errors in ``cursor()`` reach the caller as ``EventLogError``.

Hand-over state, all under ``_cond`` (one ``threading.Condition``)::

    CLOSED (_conn None) --first user: _busy, take lock, open--> OPEN (_refs > 0: in use)
    OPEN --last user leaves--> LINGERING (_refs == 0, _idle_since set; the closer thread watches)
    LINGERING --a user enters--> OPEN
    LINGERING --linger_s idle, or a waiting process after _HANDOVER_IDLE_S--> CLOSED (closer thread)
    OPEN --slice over and a process waits, or a failed write--> DRAINING (_draining: new users queue)
    DRAINING --last user leaves--> CLOSED with _yielded (the next opener lets the waiter go first)
    any --exclusive() (erase, read-only SQL)--> CLOSED, lock held, _busy until the block ends
    any --close()--> _closed (terminal; still in use at its timeout: DRAINING, its last user closes it)
    a fork child: forget_after_fork() (the parent's stays theirs)

``_busy`` marks the one thread that opens, closes or holds ``exclusive()``: others wait on the condition,
never on I/O. ``_refs`` counts cursors handed out (nested uses on one thread included); ``_yielded`` lives
from a hand-over to the next open; ``_forked_while_open`` refuses use in a child forked while it was open.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from exporters.eventlog.connect import connect
from exporters.eventlog.errors import EventLogClosed, EventLogError, EventLogLockTimeout, needs_reopen
from exporters.eventlog.files import (
    erase_done,
    file_id,
    finish_interrupted_erase,
    make_private_dirs,
    restrict_to_owner,
    wal_path,
)
from exporters.eventlog.lock import FileLock
from exporters.eventlog.migrate import migrate

logger = logging.getLogger("exporters.eventlog")

# How often a lingering instance probes for waiting processes where the lock's doorbell cannot be used;
# with the doorbell it probes only when a waiter rings.
_POLL_S = 0.025
# With another process waiting, we keep the file for up to one slice while we have work (each handover
# costs both sides an open+close), and give it up after a short pause in our use.
_SLICE_S = 0.25
_HANDOVER_IDLE_S = 0.05  # longer than an exporter's gap between batches (it converts spans meanwhile)
_YIELD_WAIT_S = 0.1  # after handing over, how long we let the waiter go first
_FORK_ORPHANS: list[duckdb.DuckDBPyConnection] = []


class SharedDatabase:
    """The open-or-closed DuckDB instance of one file in this process. See the module docstring."""

    def __init__(self, path: Path, config: dict[str, Any], linger_s: float) -> None:
        self.path = path
        self._config = config
        self._linger_s = linger_s
        self._lock = FileLock(path.with_name(path.name + ".lock"), on_waiter=self._on_waiter)
        self._cond = threading.Condition()
        self._rung = False  # a waiter rang since we last probed the want file
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._refs = 0
        self._busy = False  # a thread opens, closes or holds exclusive access; others wait
        self._draining = False  # another process waits: let current users finish, then close
        self._yielded = False  # we closed for a waiter: let it in before we take the lock again
        self._idle_since = self._opened_at = 0.0
        self._closed = False
        self._local = threading.local()
        self._closer: threading.Thread | None = None
        self.opens = 0  # how many times DuckDB was opened (tests and benchmarks read it)
        self._stored_resources: set[str] = set()
        self._stored_resources_opens = -1  # the ``opens`` they belong to
        self._forked_while_open = False
        self._deferred = False  # close() left the instance to its users (see _close_if_deferred)
        self._file_id = (0, 0)  # (device, inode) of the file the open instance holds

    def stored_resources(self) -> set[str]:
        """Resource ids this process wrote to the file since it last opened it (call inside ``cursor()``): a
        writer skips a statement per batch for a resource the file holds already. Forgotten at every reopen:
        while the file was closed, another process may have erased it."""
        if self._stored_resources_opens != self.opens:
            self._stored_resources = set()
            self._stored_resources_opens = self.opens
        return self._stored_resources

    def forget_stored_resources(self) -> None:
        self._stored_resources = set()

    # -- entering and leaving ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def cursor(self, timeout: float) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor on the open instance, for this thread only, valid inside the block."""
        conn = self._enter(time.monotonic() + timeout)
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            cur = conn.cursor()
            try:
                yield cur
            finally:
                cur.close()
        except Exception as exc:
            if needs_reopen(exc):
                # Reopen rather than keep handing out a dead or stale instance while it lingers.
                with self._cond:
                    self._draining = True
            if isinstance(exc, duckdb.IOException | duckdb.FatalException):
                # The file, not the query: readers see the event log's own error, never DuckDB's.
                raise EventLogError(f"the event log file failed ({type(exc).__name__})") from exc
            raise
        finally:
            self._local.depth -= 1
            self._leave()

    def _enter(self, deadline: float) -> duckdb.DuckDBPyConnection:
        while True:
            with self._cond:
                if getattr(self._local, "depth", 0) > 0 and self._conn is not None:
                    self._refs += 1  # nested on this thread: the instance cannot close under us
                    return self._conn
                action = self._next_action(deadline)
                if isinstance(action, duckdb.DuckDBPyConnection):
                    return action
                self._busy = True
            if action == "yield":
                try:
                    self._close_instance(yielded=True)
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
                continue
            conn: duckdb.DuckDBPyConnection | None = None
            try:
                conn = self._open_instance(deadline)
            finally:
                with self._cond:
                    self._busy = False
                    if conn is not None:
                        self._conn = conn
                        self._opened_at = time.monotonic()
                        self._draining = False
                        self._rung = True  # one probe after opening: a waiter may have rung nobody
                        self._refs += 1
                    self._cond.notify_all()
            assert conn is not None
            return conn

    def _next_action(self, deadline: float) -> duckdb.DuckDBPyConnection | str:
        """Under the condition: a connection to use, or 'open' / 'yield' for the caller to do."""
        while True:
            if self._closed:
                raise EventLogClosed("event log is closed")
            if not self._busy:
                if self._conn is None:
                    return "open"
                moved = file_id(self.path) != self._file_id  # removed under us (the data home deleted)
                if not self._draining and (moved or (self._slice_over() and self._lock.contended())):
                    self._draining = True
                if not self._draining:
                    self._refs += 1
                    return self._conn
                if self._refs == 0:
                    return "yield"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EventLogLockTimeout("timed out waiting for the event log inside this process")
            self._cond.wait(remaining)

    def _leave(self) -> None:
        close_now = False
        with self._cond:
            self._refs -= 1
            if self._refs == 0 and self._conn is not None:
                self._idle_since = time.monotonic()
                if self._draining or self._linger_s <= 0 or (self._slice_over() and self._lock.contended()):
                    close_now = not self._busy
                    self._busy = self._busy or close_now
                else:
                    self._ensure_closer()
            self._cond.notify_all()
        if close_now:
            try:
                self._close_instance(yielded=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        self._close_if_deferred()

    closing_late = property(lambda self: self._deferred, doc="close() left it to a thread still inside it")

    def _close_if_deferred(self) -> None:
        """``close()`` found the instance in use and left it: whoever leaves it idle last closes it."""
        with self._cond:
            if not self._deferred or self._busy or self._refs > 0:
                return
            self._busy = True
        try:
            self._close_instance(yielded=False)
            self._lock.close()
        finally:
            with self._cond:
                self._deferred = False
                self._busy = False
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, timeout: float) -> Iterator[None]:
        """Hold the inter-process lock with the database closed (to replace its files)."""
        if getattr(self._local, "depth", 0) > 0:
            raise EventLogError("erase() cannot run inside reader() on the same thread")
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or self._refs > 0:
                if self._closed:
                    raise EventLogClosed("event log is closed")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EventLogLockTimeout("timed out waiting for users of the event log")
                self._cond.wait(remaining)
            self._busy = True
        try:
            self._close_instance(yielded=False, keep_lock=True)
            if not self._lock.held and not self._lock.acquire(max(deadline - time.monotonic(), 0.0)):
                raise EventLogLockTimeout("event log is locked by another process")
            try:
                yield
            finally:
                self._lock.release()
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    # -- opening and closing (called with _busy set, without the condition held) -----------------------

    def _open_instance(self, deadline: float) -> duckdb.DuckDBPyConnection:
        if self._forked_while_open:
            raise EventLogError(
                "the event log was open when this process was forked; a forked child cannot use it "
                "(start the child with the 'spawn' method, or use the log in the parent only)"
            )
        if self._yielded:
            self._yielded = False
            self._lock.let_waiters_in(_YIELD_WAIT_S)
        try:
            make_private_dirs(self.path.parent)
            if not self._lock.acquire(max(deadline - time.monotonic(), 0.0)):
                raise EventLogLockTimeout("event log is locked by another process")
        except OSError as exc:
            raise EventLogError(f"cannot use the event log folder ({type(exc).__name__})") from exc
        try:
            interrupted = finish_interrupted_erase(self.path)
            conn = connect(self.path, self._config, deadline)
            restrict_to_owner(self.path, wal_path(self.path), self._lock.path, self._lock.want_path)
            try:
                migrate(conn)
                if interrupted:
                    conn.execute("CHECKPOINT")
                    erase_done(self.path)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            self._lock.release()
            raise
        self.opens += 1
        self._file_id = file_id(self.path)
        return conn

    def _close_instance(self, *, yielded: bool, keep_lock: bool = False) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                conn.close()
                restrict_to_owner(self.path, wal_path(self.path))  # a WAL DuckDB created since the open
        finally:
            if not keep_lock:
                self._lock.release()
            self._yielded = yielded and conn is not None

    def _slice_over(self) -> bool:
        return time.monotonic() - self._opened_at >= _SLICE_S

    # -- lingering --------------------------------------------------------------------------------------

    def _ensure_closer(self) -> None:
        if self._closer is None or not self._closer.is_alive():
            self._closer = threading.Thread(target=self._closer_loop, name="eventlog-linger", daemon=True)
            self._closer.start()

    def _on_waiter(self) -> None:
        """Called on the lock's doorbell thread when another process starts waiting for the file."""
        with self._cond:
            self._rung = True
            self._cond.notify_all()

    def _waiter_present(self) -> bool:
        """Under the condition: probe the want file if a waiter rang (or if rings cannot reach us)."""
        if not self._lock.listening:
            return self._lock.contended()
        if self._rung and not self._lock.contended():
            self._rung = False  # it got the file meanwhile, or gave up
        return self._rung

    def _closer_loop(self) -> None:
        with self._cond:
            while not self._closed:
                if self._conn is None or self._busy or self._refs > 0:
                    self._cond.wait(self._linger_s * 4)
                    if self._conn is None and not self._busy:
                        return  # nothing to watch; started again at the next linger
                    continue
                idle = time.monotonic() - self._idle_since
                wait = self._linger_s - idle
                if self._waiter_present():
                    # Hand over after a short pause in our use, or at once if our slice is over.
                    wait = 0.0 if self._slice_over() else min(wait, _HANDOVER_IDLE_S - idle)
                elif not self._lock.listening:
                    wait = min(wait, _POLL_S)
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._busy = True
                self._cond.release()
                try:
                    self._close_instance(yielded=False)
                except Exception:
                    logger.exception("closing the idle event log failed")
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()

    # -- life cycle -------------------------------------------------------------------------------------

    def close(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._busy or self._refs > 0) and time.monotonic() < deadline:
                self._cond.wait(max(deadline - time.monotonic(), 0.0))
            self._closed = True
            if self._refs > 0 or self._busy:
                # An export a shutdown gave up on: DuckDB refuses to close a busy connection. Its last user does.
                self._draining = self._deferred = True
                self._cond.notify_all()
                return
            self._busy = True
            self._cond.notify_all()
        try:
            self._close_instance(yielded=False)
        finally:
            self._lock.close()
        closer = self._closer
        if closer is not None and closer is not threading.current_thread():
            closer.join(timeout=1.0)

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's instance and lock without touching them (closing would
        checkpoint into the parent's file; unlocking would release the parent's lock)."""
        if self._conn is not None:
            _FORK_ORPHANS.append(self._conn)  # never collected: its destructor would checkpoint
            # duckdb's per-process instance cache now hands this child the parent's stale instance for
            # this path (same memory, no file lock of its own): any use could corrupt the file.
            self._forked_while_open = True
        self._conn, self._refs, self._busy, self._draining, self._closer = None, 0, False, False, None
        self._cond = threading.Condition()
        self._local = threading.local()
        self._rung = False
        self._lock.forget()
