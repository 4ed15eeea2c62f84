"""An inter-process lock on ``<db>.lock`` that waits by blocking, with a timeout, and tells its holder
when someone else is waiting.

DuckDB lets one process open a file read-write, or many read-only, never both; a second opener gets an
error, not a wait. So every process that uses the event log first takes this ``fcntl.flock`` lock, and
only then opens DuckDB. Two files are used:

* ``<db>.lock``: the lock itself, held exclusively while the database is open.
* ``<db>.lock.want``: a waiter holds a *shared* flock on it while it waits for ``<db>.lock``. The holder
  probes it with a non-blocking *exclusive* flock: if that fails, somebody is waiting, and the holder
  closes the database at its next quiet moment instead of keeping it open for later use.

A doorbell saves the holder from probing on a timer: while it holds the lock, a holder that asked to be
told (``on_waiter``) binds a Unix datagram socket in Linux's abstract namespace, named after the lock
file's path (no file is created: nothing in the data home can be opened and block a reader), and a
helper thread blocks on it. A waiter sends one byte there after announcing itself on the want file.
The want file stays the truth (a ring only says "probe now"); a ring that finds nobody listening is
dropped, which is safe because a holder probes once when it takes the lock. Where the doorbell cannot be
used (not Linux, or the name cannot be bound) ``listening`` is False and the holder probes on its timer
(``instance.py``). Processes in different network namespaces sharing one folder do not hear each other's
rings: there a waiter gets the file when the holder's linger ends.

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
import hashlib
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

_WANT_SUFFIX = ".want"
_FILE_MODE = 0o600
_DOORBELLS = sys.platform.startswith("linux")  # abstract-namespace sockets are Linux's


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


def _doorbell_address(lock_path: Path) -> str:
    digest = hashlib.sha256(os.path.realpath(lock_path).encode()).hexdigest()[:40]
    return f"\0peft-eventlog-{digest}"


class _Listener:
    """While the lock is held: the bound doorbell socket and a thread blocked on it, calling ``on_ring``
    per ring. :meth:`stop` ends the thread and unbinds the name before the lock is released, so the next
    holder can bind it."""

    def __init__(self, address: str, on_ring: Callable[[], None]) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._sock.bind(address)
        except OSError:
            self._sock.close()
            raise
        self._stop_read, self._stop_write = os.pipe()
        self._on_ring = on_ring
        self.thread = threading.Thread(target=self._run, name="eventlog-doorbell", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        poller = select.poll()  # not select.select: a busy host app may hold descriptors beyond 1024
        poller.register(self._sock.fileno(), select.POLLIN)
        poller.register(self._stop_read, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._stop_read in ready:
                return
            with contextlib.suppress(OSError):
                self._sock.recv(64, socket.MSG_DONTWAIT)
            try:
                self._on_ring()
            except Exception:  # the holder's callback failing must not end the doorbell
                continue

    def stop(self) -> None:
        os.write(self._stop_write, b"s")
        if self.thread is not threading.current_thread():
            self.thread.join(timeout=5.0)
        self._close()

    def _close(self) -> None:
        self._sock.close()
        for fd in (self._stop_read, self._stop_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def forget(self) -> None:
        """In a forked child: the thread is the parent's. Our copy of the socket can go (the parent
        keeps the name bound through its own descriptor)."""
        self._close()


def _ring(address: str) -> None:
    """Tell the holder we wait. Best effort: nobody bound, or a full queue, means "no ring"."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"r", socket.MSG_DONTWAIT, address)


class FileLock:
    """Exclusive inter-process lock with a blocking, timed acquire. Not re-entrant; one per process
    per path (the caller, ``instance.SharedDatabase``, serializes threads).

    ``on_waiter``, if given, is called (on a helper thread) when another process starts waiting while
    this one holds the lock; see the module docstring for the doorbell it rides on.
    """

    def __init__(self, path: Path, on_waiter: Callable[[], None] | None = None) -> None:
        self.path = path
        self.want_path = path.with_name(path.name + _WANT_SUFFIX)
        self._doorbell_address = _doorbell_address(path)
        self._fd: int | None = None
        self._want_fd: int | None = None
        self._waiter: _Waiter | None = None
        self._mutex = threading.Lock()
        self._on_waiter = on_waiter
        self._listener: _Listener | None = None
        self.held = False

    def _fds(self) -> tuple[int, int]:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        if self._want_fd is None:
            self._want_fd = os.open(self.want_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        return self._fd, self._want_fd

    def _listen(self) -> None:
        """Called with ``_mutex`` held, right after taking the lock."""
        if not _DOORBELLS or self._on_waiter is None or self._listener is not None:
            return
        # Binding fails if the name is taken (by a process we cannot see): then ``listening`` stays
        # False for this hold and the holder probes on its timer.
        with contextlib.suppress(OSError):
            self._listener = _Listener(self._doorbell_address, self._on_waiter)

    @property
    def listening(self) -> bool:
        """True while held with the doorbell listened to: waiters that start now will be heard."""
        return self._listener is not None

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

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
                    self._listen()
                    return True
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
            # Announce that we wait. The holder only ever probes the want file for microseconds, so a
            # blocking shared lock here returns at once. Then ring, so the holder probes now.
            fcntl.flock(want_fd, fcntl.LOCK_SH)
            _ring(self._doorbell_address)
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
                    self._listen()
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
            self._stop_listening()
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
            self._stop_listening()
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
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.forget()
        self._fd = self._want_fd = None
        self._waiter = None
        self.held = False
        self._mutex = threading.Lock()
