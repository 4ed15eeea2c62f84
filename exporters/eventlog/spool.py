"""The spool: a per-process, append-only file of flushed rows in front of the DuckDB event log.

Why. A DuckDB insert costs ~2 ms of CPU per transaction whatever its size, so an app that writes a few
events a second at the 0.5 s flush interval (the kill -9 loss window) pays it twice a second. Appending the
same rows to a plain file and ``fsync``-ing it costs ~0.2 ms and survives a kill -9 and a power
loss alike; the file is merged into DuckDB in one transaction every ``merge_interval_s`` (and whenever
something in this process reads the log). ``EventLog`` drives it; this module owns the file.

Files. ``<db>.spool/<pid>-<random>.spool`` (folder 0700, files 0600), one per process, created at its first
write. The owner holds ``fcntl.flock(LOCK_EX)`` on it for its life, so a file another process *can* lock
is an orphan (its owner died, kill -9 included) that any process merges: :meth:`Spool.orphans`.

Frames (``frames.py``): ``magic | epoch | CRC32 | length | payload``, the payload holding the batch's
plain rows (orjson); the Arrow tables are built once per merge.
The reader stops at the first frame that is short, has a bad magic or a bad
CRC: a kill -9 mid-write tears only the last frame. Writes go at the last good size (``pwrite``), so a
write that failed half way (a full disk) is overwritten by the next one rather than hiding it.

Cheap durability. The file is created with ``PREALLOCATE`` bytes of zeros and never shrunk: a frame then
overwrites blocks that exist, and ``fdatasync`` commits no metadata (a growing file costs a journal commit
per flush, three times the CPU). A merge "empties" the file by zeroing the first frame's header and moving
to the next epoch; frames of the old epoch left behind the new ones are not read.

Erasing. ``EventLog.erase`` wipes the folder, other live processes' files included. An owner notices at its
next use (its path is gone or names another inode) and discards what it held: erased rows never come back.

Example::

    spool = shared(db_path)
    spool.append({"spans": rows})  # rows in schema.column_names("spans") order
    frames = spool.read_own()  # under the event log's lock: insert, then spool.committed()
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exporters.eventlog import schema
from exporters.eventlog.errors import EventLogError, failure_message
from exporters.eventlog.frames import HEADER_SIZE, SUFFIX, Batch, Frames, decode, encode
from exporters.fs import fsync_dir, make_private_dirs, restrict_to_owner

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no spool (EventLog writes straight to DuckDB)
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("exporters.eventlog")

__all__ = ["MAX_SPOOL_BYTES", "Batch", "Frames", "Orphan", "Spool", "SpoolError", "decode", "encode", "shared"]

#: Beyond this a spool takes no more rows (the merges must have been failing: a full disk, a lock held).
MAX_SPOOL_BYTES = 64 << 20
#: A merge is due once this much is spooled, whatever the interval (keeps one merge transaction small).
MERGE_BYTES = 4 << 20
#: Zeros a spool file starts with (see "Cheap durability" above); a trickle's five seconds fit ten times.
PREALLOCATE = 256 << 10
#: After a failed merge (a full disk, the log locked elsewhere), the next try waits this long.
RETRY_S = 2.0


class SpoolError(EventLogError):
    """The spool could not take a batch (I/O, full disk, over its bound): the batch was not recorded."""


@dataclass
class Orphan:
    """A spool file whose owner died, locked by us: merge ``frames``, then :meth:`done`."""

    path: Path
    fd: int
    frames: Frames
    rows: int

    def done(self, merged: bool) -> None:
        """Remove the file once its rows are stored (else leave it for the next try); let go of it."""
        try:
            if merged:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
        finally:
            os.close(self.fd)


class Spool:
    """This process's spool for one database (see the module docstring). Thread-safe."""

    def __init__(self, db: Path) -> None:
        self.folder = db.with_name(db.name + SUFFIX)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._ino = 0
        self._size = 0  # bytes of intact frames: the next frame goes here
        self._epoch = 0  # frames of this epoch are the current ones (a new one after every merge)
        self._resources: set[str] = set()  # resource ids in the current frames: each is spooled once
        self.rows = 0
        self.since = 0.0  # monotonic time of the first row spooled since the last merge
        self.next_orphan_scan = 0.0
        self._retry_at = 0.0  # after a failed merge: not due again before this (monotonic)
        self._over_bound_logged = False

    @property
    def size(self) -> int:
        return self._size

    # -- writing -------------------------------------------------------------------------------------

    def append(self, batches: Batch) -> None:
        """Append ``batches`` (rows in schema column order) as one frame and fsync it. Raises
        :class:`SpoolError` (nothing recorded), ValueError or TypeError (rows JSON cannot hold)."""
        if fcntl is None:
            raise SpoolError("the spool needs fcntl (POSIX)")
        with self._lock:
            try:
                fd = self._file()  # first: an erase under us starts a new file (epoch, resources)
            except OSError as exc:
                raise SpoolError(failure_message("creating the spool", exc)) from exc
            batches = self._without_spooled_resources(batches)
            frame = encode(batches, self._epoch)
            if self._size + len(frame) > MAX_SPOOL_BYTES:
                if not self._over_bound_logged:
                    self._over_bound_logged = True
                    logger.error(
                        "event log: the spool holds %d bytes that could not be merged into the database (a "
                        "full disk, or the log locked by another process); new events are dropped and "
                        "counted until a merge succeeds",
                        self._size,
                    )
                raise SpoolError("the spool is full (merges into the event log keep failing)")
            try:
                if os.pwrite(fd, frame, self._size) != len(frame):  # short: the disk filled up meanwhile
                    raise OSError(errno.ENOSPC, "No space left on device")
                _datasync(fd)
            except OSError as exc:
                raise SpoolError(failure_message("writing the spool", exc)) from exc
            if not self.rows:
                self.since = time.monotonic()
            self._size += len(frame)
            self.rows += sum(len(rows) for rows in batches.values())
            if schema.RESOURCES in batches:
                self._resources.update(_ids(batches[schema.RESOURCES]))

    def _without_spooled_resources(self, batches: Batch) -> Batch:
        resources = batches.get(schema.RESOURCES)
        if resources is None or not self._resources.issuperset(_ids(resources)):
            return batches
        return {name: rows for name, rows in batches.items() if name != schema.RESOURCES}

    def _file(self) -> int:
        """Under the lock: our file, (re)created when missing or erased under us."""
        if self._fd is not None and not self._linked():
            self._drop()
        if self._fd is None:
            make_private_dirs(self.folder)
            restrict_to_owner(self.folder)
            path = self.folder / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.pwrite(fd, bytes(PREALLOCATE), 0)
                os.fsync(fd)
                fsync_dir(self.folder)  # the file's name survives a power loss too
            except OSError:
                os.close(fd)
                with contextlib.suppress(OSError):
                    os.unlink(path)
                raise
            self._fd, self._path, self._ino = fd, path, os.fstat(fd).st_ino
            self._epoch = secrets.randbits(32)
            self._size, self._resources = 0, set()
        return self._fd

    def _linked(self) -> bool:
        """Our file still has a name (an erase unlinks it): ``fstat``, not ``stat``: no path lookup per
        flush. The name is ours alone (pid and random), so a file taking it after an erase cannot happen
        before we notice; a merge checks the path too (:meth:`_still_ours`)."""
        try:
            return self._fd is not None and os.fstat(self._fd).st_nlink > 0
        except OSError:
            return False

    def _still_ours(self) -> bool:
        """Our path still names our file (an erase removes it, and another file may take the name)."""
        try:
            return self._path is not None and os.stat(self._path).st_ino == self._ino
        except OSError:
            return False

    def _drop(self) -> None:
        """Under the lock: forget our file and what it held (erased under us)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing, never LOCK_UN: a forked twin may share the lock
        self._fd, self._path, self._ino = None, None, 0
        self._size = self.rows = 0
        self._resources = set()
        self._over_bound_logged = False

    # -- merging (callers hold the event log's inter-process lock) -------------------------------------

    def due_in(self, interval_s: float) -> float | None:
        """Seconds until a merge is due (0: now); None with nothing spooled."""
        if not self.rows:
            return None
        due = self._retry_at if self._size >= MERGE_BYTES else max(self.since + interval_s, self._retry_at)
        return max(0.0, due - time.monotonic())

    def retry_later(self) -> None:
        """A merge failed: the next is due in ``RETRY_S`` (not at once: the worker would spin)."""
        self._retry_at = time.monotonic() + RETRY_S

    @contextlib.contextmanager
    def taking(self) -> Iterator[tuple[Frames, int] | None]:
        """Our spooled tables for the caller to insert; emptied when the block ends without raising.

        Yields None when nothing is spooled, or when an erase removed our file (its rows are discarded).
        Holds the spool's lock for the block: appends wait for the merge.
        """
        with self._lock:
            if not self.rows or self._fd is None:
                yield None
                return
            if not self._still_ours():
                self._drop()  # erased under us: what it held must not come back
                yield None
                return
            try:
                data = os.pread(self._fd, self._size, 0)
            except OSError as exc:
                raise SpoolError(failure_message("reading the spool", exc)) from exc
            taken = decode(data)
            if taken[1] != self.rows:  # never expected: every frame was written whole and synced
                logger.error("event log: the spool held %d rows, %d could be read back", self.rows, taken[1])
            yield taken
            # Stored. The next frame goes at offset 0, in the next epoch, whether or not the old header is
            # zeroed: this process never reads the old frames again, and a dead one's are merged skipping
            # what is stored. So the zeroing needs no fdatasync: a kill -9 keeps it (page cache), and after
            # a power loss the old frames are recovered as a dead process's, skipping what is stored; the
            # next frame's fdatasync commits it anyway.
            self.rows, self._size, self._resources = 0, 0, set()
            self._epoch = (self._epoch + 1) & 0xFFFFFFFF
            try:
                os.pwrite(self._fd, bytes(HEADER_SIZE), 0)
            except OSError:
                logger.warning("event log: emptying the spool failed; its rows are stored, not stored twice")

    def has_others(self) -> bool:
        """Another process's spool file is in the folder (perhaps an orphan)."""
        with contextlib.suppress(OSError), os.scandir(self.folder) as entries:
            own = self._path.name if self._path is not None else None
            return any(e.name.endswith(SUFFIX) and e.name != own for e in entries)
        return False

    def orphans(self) -> Iterator[Orphan]:
        """Spool files of processes that died (their lock is free), each locked by us while handled."""
        if fcntl is None:
            return
        try:
            names = sorted(entry.name for entry in os.scandir(self.folder) if entry.name.endswith(SUFFIX))
        except OSError:
            return
        restrict_to_owner(self.folder)
        for name in names:
            path = self.folder / name
            if path == self._path:
                continue
            try:
                fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    raise OSError("replaced meanwhile")  # handled by another process already
                data = os.pread(fd, os.fstat(fd).st_size, 0)
            except OSError:
                os.close(fd)  # its owner is alive (or it went away): not ours to merge
                continue
            frames, rows = decode(data)
            yield Orphan(path, fd, frames, rows)

    # -- life cycle -----------------------------------------------------------------------------------

    def discard(self) -> None:
        """Forget what is spooled (the log was erased: the file went with it)."""
        with self._lock:
            self._drop()

    def release(self) -> None:
        """At close: remove our file when it holds nothing (and the folder when it is empty)."""
        with self._lock:
            if self.rows or self._fd is None:
                return
            if self._still_ours() and self._path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._path)
            self._drop()
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # fails while another process's file is in it

    def after_fork(self) -> None:
        """In a forked child: the parent's file and rows stay the parent's."""
        self._lock = threading.Lock()
        self._drop()


_RESOURCE_ID = schema.column_names(schema.RESOURCES).index("resource_id")


def _ids(resources: Sequence[Sequence[Any]]) -> list[str]:
    return [rid for row in resources if isinstance(rid := row[_RESOURCE_ID], str)]


def _datasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)  # macOS has no fdatasync


_SPOOLS: dict[str, Spool] = {}
_SPOOLS_LOCK = threading.Lock()


def shared(db: Path) -> Spool:
    """This process's spool of the database at ``db`` (one per file, however many ``EventLog`` objects)."""
    key = os.path.realpath(db)
    with _SPOOLS_LOCK:
        spool = _SPOOLS.get(key)
        if spool is None:
            spool = _SPOOLS[key] = Spool(Path(key))
        return spool


def _after_fork_in_child() -> None:
    global _SPOOLS_LOCK
    _SPOOLS_LOCK = threading.Lock()
    for spool in _SPOOLS.values():
        spool.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
