"""An inter-process lock on ``<db>.lock`` that waits by blocking, with a timeout, and tells its holder
when someone else is waiting.

DuckDB lets one process open a file read-write, or many read-only, never both; a second opener gets an
error, not a wait. So every process that uses the event log first takes this ``fcntl.flock`` lock, and
only then opens DuckDB. Two files are used:

* ``<db>.lock``: the lock itself, held exclusively while the database is open.
* ``<db>.lock.want``: a waiter holds a *shared* flock on it while it waits for ``<db>.lock``. The holder
  probes it with a non-blocking *exclusive* flock: if that fails, somebody is waiting, and the holder
  closes the database at its next quiet moment instead of keeping it open for later use.

``flock`` itself has no timeout, and signals (``alarm``) are only usable on the main thread of the host
app, so the blocking wait runs in a helper thread while the caller waits on an ``Event`` with a timeout.
If the caller gives up, the helper is left blocked; when it finally gets the lock it releases it at once.
At most one helper per lock exists: a later ``acquire`` adopts a pending helper instead of starting a
second one, because two ``flock`` calls on one file description would both "succeed".
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
import time
from pathlib import Path

_WANT_SUFFIX = ".want"
_FILE_MODE = 0o600


class _Waiter:
    """One blocking ``flock`` in a helper thread; its outcome is claimed by a caller or given back."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.done = threading.Event()
        self.mutex = threading.Lock()
        self.acquired = False
        self.error: OSError | None = None
        self.abandoned = False
        self.finished = False  # set under ``mutex`` when the thread has decided the outcome
        self.close_when_done = False  # the owning FileLock was closed while we waited
        self.thread = threading.Thread(target=self._run, name="eventlog-flock-wait", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            with self.mutex:
                self.error = exc
                self.finished = True
                self._maybe_close()
            self.done.set()
            return
        with self.mutex:
            if self.abandoned:
                # Nobody wants the lock any more: hand it straight back to the other processes.
                fcntl.flock(self.fd, fcntl.LOCK_UN)
                self._maybe_close()
            else:
                self.acquired = True
            self.finished = True
        self.done.set()

    def _maybe_close(self) -> None:
        if self.close_when_done:
            os.close(self.fd)


class FileLock:
    """Exclusive inter-process lock with a blocking, timed acquire. Not re-entrant; one per process
    per path (the caller, ``_shared.SharedDatabase``, serializes threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.want_path = path.with_name(path.name + _WANT_SUFFIX)
        self._fd: int | None = None
        self._want_fd: int | None = None
        self._waiter: _Waiter | None = None
        self._mutex = threading.Lock()
        self.held = False

    def _fds(self) -> tuple[int, int]:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        if self._want_fd is None:
            self._want_fd = os.open(self.want_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        return self._fd, self._want_fd

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lock. True when held. Raises ``OSError`` when the lock
        files cannot be created (unwritable folder)."""
        with self._mutex:
            if self.held:
                raise RuntimeError("FileLock is not re-entrant")
            fd, want_fd = self._fds()
            if self._waiter is not None and self._waiter.finished:
                self._waiter = None
            if self._waiter is None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self.held = True
                    return True
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
            # Announce that we wait. The holder only ever probes the want file for microseconds, so a
            # blocking shared lock here returns at once.
            fcntl.flock(want_fd, fcntl.LOCK_SH)
            waiter = self._waiter
            if waiter is not None:
                with waiter.mutex:
                    if waiter.finished:
                        waiter = None  # it got the lock after its caller gave up, and gave it back
                    else:
                        waiter.abandoned = False
            if waiter is None:
                waiter = self._waiter = _Waiter(fd)
        try:
            waiter.done.wait(max(timeout, 0.0))
            with self._mutex, waiter.mutex:
                if waiter.acquired:
                    self._waiter = None
                    self.held = True
                    return True
                if waiter.error is not None:
                    self._waiter = None
                    raise waiter.error
                waiter.abandoned = True
                return False
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(want_fd, fcntl.LOCK_UN)

    def release(self) -> None:
        with self._mutex:
            if self.held and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.held = False

    def contended(self) -> bool:
        """True when another process waits for the lock (it holds the want file shared)."""
        fd = self._want_fd
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False

    def let_waiters_in(self, max_wait_s: float) -> None:
        """After a release caused by contention, give current waiters the first turn: wait (bounded)
        until none holds the want file, i.e. each has got the lock or given up. Without this, our own
        next acquire can win the race against the waiter the kernel just woke."""
        deadline = time.monotonic() + max_wait_s
        while self.contended() and time.monotonic() < deadline:
            time.sleep(0.002)

    def close(self) -> None:
        """Release and close the lock files (a pending helper keeps its descriptor until it ends)."""
        with self._mutex:
            if self.held and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.held = False
            waiter, self._waiter = self._waiter, None
            if waiter is not None:
                with waiter.mutex:
                    if waiter.finished:
                        waiter = None  # finished: its descriptor is ours to close
                    else:
                        waiter.abandoned = True
                        waiter.close_when_done = True
            if waiter is None and self._fd is not None:
                os.close(self._fd)
            self._fd = None
            if self._want_fd is not None:
                os.close(self._want_fd)
            self._want_fd = None

    def forget(self) -> None:
        """In a forked child: close our copies of the descriptors without unlocking (an unlock would
        release the parent's lock, which shares the open file description)."""
        for fd in (self._fd, self._want_fd):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._want_fd = None
        self._waiter = None
        self.held = False
        self._mutex = threading.Lock()
