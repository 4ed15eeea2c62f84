"""The event log: one DuckDB file that spans, span events, metric points and the consent ledger go to.

Sharing the file between processes. DuckDB admits one read-write process *or* many read-only ones, and a
refused opener gets an error instead of a wait, while two copies of the app, the service and the CLI share
one data home. So nobody keeps the file open: every use (``reader()``, ``append()``, ``prune()``,
``stats()``, ``erase()``) takes an ``fcntl.flock`` on ``<db>.lock`` (blocking wait with a timeout, no
spinning), opens DuckDB, and lets go again. Inside one process all ``EventLog`` objects of a file share
one open instance with a reference count and a cursor per thread, and the instance lingers open briefly
after use (``linger_s``, 2 s) unless another process is waiting (it says so on ``<db>.lock.want``), so an
exporter pays DuckDB's open+close once per burst, not once per batch. Details in
``instance.py`` and ``lock.py`` beside this module. Reads from different processes take turns too; every
hold is one short transaction, and a waiter gets its turn after the current batch (or, from an idle,
lingering holder, at its hand-over probe's next wake-ups: figures in bench/README.md).

Writes are Arrow inserts (``INSERT INTO t BY NAME SELECT * FROM <arrow>``), one short transaction per
call; ``append_many`` puts a batch's spans and their events in the same transaction, so a kill -9 leaves
both or neither. Every connection runs with ``memory_limit`` (without it DuckDB's buffer cache grows with
every row written), few threads and ``enable_external_access=false`` (SQL cannot read local files).

Bounded storage (``prune.py``): after every ``prune_every_rows`` appended rows or ``prune_interval_s``
seconds, rows older than ``max_age_days`` (default 90 days; not while the clock disagrees with the
stored history) are deleted, and only the newest ``max_events`` spans (default
1,000,000) and metric points are kept, oldest first out. Span events go with the time window of
their spans. The consent ledger is never pruned: it is the proof of what the user agreed to.

Erasing: ``DELETE`` + ``CHECKPOINT`` leaves deleted values in the file's free blocks. ``erase()`` takes the
lock, overwrites the database, its WAL, set-aside WALs and the spill folder ``<db>.tmp/`` with zeros,
removes them and creates a fresh empty database.

Example::

    log = EventLog(home / "telemetry" / "events.duckdb")
    log.append(schema.CONSENT_LEDGER, table)
    with log.reader() as cur:
        cur.execute("SELECT count(*) FROM spans").fetchall()
    log.close()
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from exporters._failure_log import FailureLog
from exporters.duckdb_config import MEMORY_LIMIT_PATTERN
from exporters.eventlog import files as _files
from exporters.eventlog import frames as _frames
from exporters.eventlog import migrate as _migrate
from exporters.eventlog import registry as _registry
from exporters.eventlog import schema
from exporters.eventlog import spool as _spool
from exporters.eventlog.checks import finite as _finite
from exporters.eventlog.checks import positive_int as _positive_int
from exporters.eventlog.errors import EventLogClosed, EventLogError, EventLogLockTimeout, is_disk_full
from exporters.eventlog.insert import build, insert_tables, merge_spools
from exporters.eventlog.instance import logger
from exporters.eventlog.prune import Pruner

__all__ = [
    "EventLog",
    "EventLogClosed",
    "EventLogError",
    "EventLogLockTimeout",
    "EventLogStats",
]

_MEMORY_LIMIT = re.compile(MEMORY_LIMIT_PATTERN)
# How long the file stays open after its last use. An idle open instance costs little, a reopen much more,
# so the linger is longer than the flush interval: a steady trickle of events does not reopen the file at
# every flush (figures in bench/README.md). Longer would also cover slower trickles, but a tool that opens
# the file without our lock (a plain ``duckdb`` client) must wait this long after the app's last write;
# processes using the lock are handed the file promptly whatever the linger.
DEFAULT_LINGER_S = 2.0
# A batch this big (a burst, not a trickle) goes straight to DuckDB: the transaction's fixed cost (~2 ms)
# is spread over its rows already, and the spool's fsync would only add wall time.
_DIRECT_ROWS = 256
# How often reads and merges look for spool files of processes that died (a directory listing).
_ORPHAN_SCAN_S = 5.0
_STATS = f"""
SELECT
    (SELECT count(*) FROM {schema.SPANS}),
    (SELECT count(*) FROM {schema.SPAN_EVENTS}),
    (SELECT count(*) FROM {schema.METRIC_POINTS}),
    (SELECT count(*) FROM {schema.CONSENT_LEDGER}),
    least((SELECT min(start_ns) FROM {schema.SPANS}), (SELECT min(time_ns) FROM {schema.METRIC_POINTS})),
    greatest((SELECT max(start_ns) FROM {schema.SPANS}), (SELECT max(time_ns) FROM {schema.METRIC_POINTS}))
"""  # noqa: S608


class EventLogStats(BaseModel):
    """What the event log holds. ``oldest_ns``/``newest_ns`` span spans and metric points (None when
    empty); ``size_bytes`` is the database file plus its WAL."""

    path: str
    schema_version: int
    spans: int
    span_events: int
    metric_points: int
    consent_ledger: int
    oldest_ns: int | None
    newest_ns: int | None
    size_bytes: int


class EventLog:
    """The DuckDB event log at ``path``. Safe to use from many threads and processes at once.

    Bad arguments raise ``ValueError`` here; nothing touches the disk until first use. At run time
    methods raise ``EventLogError`` (lock timeout, I/O, damaged file) for the caller (an exporter) to
    count; they never hang longer than ``lock_timeout_s``.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        max_events: int = 1_000_000,
        max_age_days: float = 90.0,
        memory_limit: str = "128MB",
        lock_timeout_s: float = 30.0,
        threads: int = 1,
        linger_s: float = DEFAULT_LINGER_S,
        prune_every_rows: int = 10_000,
        prune_interval_s: float = 60.0,
        merge_interval_s: float = 0.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        _positive_int("max_events", max_events)
        _positive_int("threads", threads)
        _positive_int("prune_every_rows", prune_every_rows)
        _finite("max_age_days", max_age_days, zero_ok=False)
        _finite("lock_timeout_s", lock_timeout_s, zero_ok=False)
        _finite("linger_s", linger_s, zero_ok=True)
        _finite("prune_interval_s", prune_interval_s, zero_ok=True)
        _finite("merge_interval_s", merge_interval_s, zero_ok=True)
        if not isinstance(memory_limit, str) or not _MEMORY_LIMIT.match(memory_limit):
            raise ValueError("memory_limit must look like '128MB' or '1GiB'")
        self.path = Path(path).expanduser().absolute()
        if self.path.name == "" or str(path).strip() == "":
            raise ValueError("path must name a file")
        self.lock_timeout_s = float(lock_timeout_s)
        self._pruner = Pruner(
            max_events=max_events,
            max_age_days=float(max_age_days),
            every_rows=prune_every_rows,
            interval_s=float(prune_interval_s),
            clock=clock,
        )
        self._config: dict[str, Any] = {
            "memory_limit": memory_limit.strip(),
            "threads": threads,
            "enable_external_access": False,
            # Nothing is downloaded or loaded behind the app's back, whatever SQL runs.
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        self._db = _registry.attach(self.path, self._config, float(linger_s))
        self._closed = False
        self._prune_failures = FailureLog(logger, logging.WARNING)
        self.merge_interval_s = float(merge_interval_s) if _spool.fcntl is not None else 0.0
        self._spool = _spool.shared(self.path)
        self._spool.next_orphan_scan = 0.0  # a new user of the file looks for dead processes' spools first
        self._merge_failures = FailureLog(logger, logging.WARNING)
        self.spooled_spans_dropped = 0  #: spooled, then refused by Arrow at a merge (logged once)

    # -- reading --------------------------------------------------------------------------------------

    @property
    def opens(self) -> int:
        """How many times this process has opened the DuckDB file (an open+close is the costly part of a use)."""
        return self._db.opens

    @contextlib.contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for this thread, valid inside the block. Keep the block short: other processes wait
        for it. Raises ``EventLogError`` when the log cannot be opened in time."""
        self._check_open()
        with self._db.cursor(self.lock_timeout_s) as cur:
            self._merge_with(cur, failing_ok=True)  # what this process spooled is read like the rest
            yield cur

    @contextlib.contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection DuckDB itself opened read-only (``access_mode=read_only``), for SQL a user typed:
        no statement run on it can change the file. Holds the inter-process lock (this process's shared
        instance closed) for the block; keep it short. Raises ``EventLogError``."""
        self._check_open()
        with self.reader():
            pass  # creates and migrates the file if it is new: a read-only open needs it to exist
        with self._db.exclusive(self.lock_timeout_s):
            try:
                conn = duckdb.connect(str(self.path), read_only=True, config=self._config)
            except duckdb.Error as exc:
                raise EventLogError(f"cannot open the event log read-only ({type(exc).__name__})") from exc
            try:
                yield conn
            finally:
                conn.close()

    def stats(self) -> EventLogStats:
        with self.reader() as cur:
            row = _migrate.first_row(cur, _STATS)
            version = _migrate.current_version(cur)
            size = sum(p.stat().st_size for p in (self.path, _files.wal_path(self.path)) if p.exists())
        assert row is not None
        return EventLogStats(
            path=str(self.path),
            schema_version=version,
            spans=row[0],
            span_events=row[1],
            metric_points=row[2],
            consent_ledger=row[3],
            oldest_ns=row[4],
            newest_ns=row[5],
            size_bytes=size,
        )

    # -- writing --------------------------------------------------------------------------------------

    def append(self, table: str, data: pa.Table) -> None:
        """Append ``data`` (columns named as in ``schema``; missing ones become NULL) in one transaction."""
        self.append_many({table: data})

    def append_many(self, batches: Mapping[str, pa.Table]) -> None:
        """Append several tables in ONE transaction: all of them are stored, or none."""
        todo = [(table, data) for table, data in batches.items() if self._validated(table, data).num_rows]
        if not todo:
            return
        self._check_open()
        rows = sum(data.num_rows for _, data in todo)
        with self._db.cursor(self.lock_timeout_s) as cur:
            stored = self._db.stored_resources()
            with _migrate.transaction(cur, "append"):
                added = insert_tables(cur, todo, stored, skip_stored=False)
            stored.update(added)
            self._after_write(cur, rows)

    def _after_write(self, cur: duckdb.DuckDBPyConnection, rows: int) -> None:
        # DuckDB (re)creates the WAL with the umask's mode after a checkpoint; two lstat calls a batch.
        _files.restrict_to_owner(self.path, _files.wal_path(self.path))
        if self._pruner.due(rows):
            try:
                self._prune_with(cur)
            except EventLogError as exc:
                # The rows are committed; a failed prune is retried at the next trigger.
                self._prune_failures.record("prune", "pruning the event log failed: %s", exc)

    # -- spooling (see spool.py) ----------------------------------------------------------------------

    def append_spooled(self, batches: _frames.Batch) -> None:
        """Append rows in schema column order (``arrow.spans_to_rows``), like :meth:`append_many`, through
        this process's spool when ``merge_interval_s`` > 0 and the batch is small (a burst's goes straight to
        DuckDB): fsynced now, merged within ``merge_interval_s`` or when this process reads the log. Raises
        ``EventLogError`` (nothing kept), ValueError (bad rows). Example: ``log.append_spooled({"spans": rows})``
        """
        todo = _frames.checked(batches)
        if not todo:
            return
        self._check_open()  # before building Arrow: a closed log's late writer leaves native code at once
        if self.merge_interval_s <= 0 or sum(len(rows) for rows in todo.values()) >= _DIRECT_ROWS:
            # A big batch pays DuckDB's per-transaction cost once: no spool, no fsync wait.
            self.append_many(dict(build([{t: (schema.column_names(t), rows) for t, rows in todo.items()}])))
            return
        self._spool.append(todo)
        if self._spool.due_in(self.merge_interval_s) == 0.0:
            self.merge()

    def merge_due_in(self) -> float | None:
        """Seconds until this process's spool is due for a merge (0: now); None when nothing is spooled."""
        return None if self._closed else self._spool.due_in(self.merge_interval_s or 0.0)

    def merge(self, timeout_s: float | None = None) -> bool:
        """Merge this process's spool (and any dead process's) into DuckDB now, waiting at most
        ``timeout_s`` (default ``lock_timeout_s``) for the log. False when that failed (logged once, counted;
        the rows stay spooled for the next try). Never raises."""
        if self._closed:
            return False
        if not self._spool.rows and not self._spool.has_others():
            return True  # nothing to do: no need to open DuckDB
        try:
            with self._db.cursor(self.lock_timeout_s if timeout_s is None else timeout_s) as cur:
                return self._merge_with(cur, failing_ok=False, orphans=True)
        except (EventLogError, OSError) as exc:
            self._merge_failed(exc)
            self._spool.retry_later()
            return False

    def _merge_failed(self, exc: Exception) -> None:
        # Nothing is lost (the rows stay spooled): a warning, worded apart from the writers' disk-full error.
        why = "no space left" if is_disk_full(exc) else type(exc).__name__
        self._merge_failures.record(why, "event log: merging the spool failed (%s); its rows wait there", why)

    def _merge_with(self, cur: duckdb.DuckDBPyConnection, *, failing_ok: bool, orphans: bool = False) -> bool:
        scan = orphans or time.monotonic() >= self._spool.next_orphan_scan
        if not self._spool.rows and not scan:
            return True
        if scan:
            self._spool.next_orphan_scan = time.monotonic() + _ORPHAN_SCAN_S
        try:
            rows, dropped = merge_spools(cur, self._spool, self._db.stored_resources(), orphans=scan)
        except (EventLogError, OSError) as exc:
            if not failing_ok:
                raise
            self._merge_failed(exc)  # a reader still reads what DuckDB holds
            return False
        self.spooled_spans_dropped += dropped
        if rows:
            self._after_write(cur, rows)
        return not dropped

    @staticmethod
    def _validated(table: str, data: pa.Table) -> pa.Table:
        if table not in schema.TABLES:
            raise ValueError(f"unknown event log table {table!r}")
        if not isinstance(data, pa.Table):
            raise ValueError("data must be a pyarrow.Table")
        allowed = set(schema.column_names(table))
        names = data.column_names
        if len(set(names)) != len(names) or not set(names) <= allowed:
            raise ValueError(f"columns of {table} must be distinct names from exporters.eventlog.schema")
        return data

    # -- bounding -------------------------------------------------------------------------------------

    def prune(self) -> int:
        """Delete what is over the count cap or the age cap now; return how many rows went."""
        self._check_open()
        with self._db.cursor(self.lock_timeout_s) as cur:
            return self._prune_with(cur)

    def _prune_with(self, cur: duckdb.DuckDBPyConnection) -> int:
        removed, resources_removed = self._pruner.prune(cur)
        if resources_removed:
            self._db.forget_stored_resources()
        return removed

    # -- erasing --------------------------------------------------------------------------------------

    def erase(self) -> None:
        """Erase everything: afterwards no byte of recorded data remains in the database file, its WAL,
        set-aside WALs or the spill folder, and the log is empty (fresh schema). Raises
        ``EventLogError`` when the lock cannot be had in time; not callable inside ``reader()``."""
        self._check_open()
        with self._db.exclusive(self.lock_timeout_s):
            self._spool.discard()  # and every process's spool file goes below: none merges after this
            try:
                _files.wipe_data_files(self.path)  # a kill -9 from here on is finished by the next open
                conn = duckdb.connect(str(self.path), config=self._config)
                try:
                    _migrate.migrate(conn)
                    conn.execute("CHECKPOINT")
                finally:
                    conn.close()
                _files.erase_done(self.path)
            except (OSError, duckdb.Error) as exc:
                raise EventLogError(f"erase failed ({type(exc).__name__})") from exc
        self._pruner.reset()

    # -- life cycle -----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EventLogClosed("event log is closed")

    def close(self) -> None:
        """Let go of the file (the last ``EventLog`` of a file in this process closes it). Idempotent."""
        self.close_within(self.lock_timeout_s)

    def close_within(self, timeout_s: float) -> None:
        """:meth:`close`, waiting at most ``timeout_s`` (a shutdown passes what is left of its budget). What
        could not be merged in time stays spooled: the next process to open the log merges it."""
        if self._closed:
            return
        deadline = time.monotonic() + max(0.0, timeout_s)
        if self.merge_interval_s > 0 and self.merge(max(0.0, deadline - time.monotonic())):
            self._spool.release()  # what this process spooled went in: no file left behind
        self._closed = True
        try:
            _registry.detach(self._db, max(0.0, deadline - time.monotonic()))
        except Exception:
            logger.exception("closing the event log failed")

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
