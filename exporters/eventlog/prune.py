"""Bounded storage: what ``EventLog`` deletes, and when.

After every ``every_rows`` appended rows or ``interval_s`` seconds (monotonic), rows older than
``max_age_days`` are deleted, and only the newest ``max_events`` spans and metric points are kept, oldest
first out. Span events go with the time window of their spans; resources no span refers to go too. The
consent ledger is never pruned: it is the proof of what the user agreed to.

The age cut does not trust a clock that jumped ahead (a wrong RTC, a VM restored from a snapshot), which
would make every stored row look old: when the cut would remove *all* the history that was in the file
before this process's ``EventLog`` existed, the clock disagrees with the log, so age pruning is skipped
in this process (the count cap still bounds the file) and that is logged once. A log left unused longer
than ``max_age_days`` looks the same; the next process prunes it, once this one's rows are its history.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import duckdb

from exporters._failure_log import FailureLog
from exporters.eventlog import schema
from exporters.eventlog.migrate import first_row, transaction

logger = logging.getLogger("exporters.eventlog")

NS_PER_DAY = 86_400 * 1_000_000_000

# Table names below come from schema constants (an allowlist), never from input.
# Resources no span refers to any more; NULL-safe, unlike NOT IN.
_DELETE_ORPHAN_RESOURCES = (
    f"DELETE FROM {schema.RESOURCES} r WHERE NOT EXISTS "  # noqa: S608
    f"(SELECT 1 FROM {schema.SPANS} s WHERE s.resource_id = r.resource_id)"
)
_DELETE_SPANS_BEFORE = f"DELETE FROM {schema.SPANS} WHERE start_ns < ?"  # noqa: S608
_DELETE_EVENTS_BEFORE = f"DELETE FROM {schema.SPAN_EVENTS} WHERE time_ns < ?"  # noqa: S608
_DELETE_POINTS_BEFORE = f"DELETE FROM {schema.METRIC_POINTS} WHERE time_ns < ?"  # noqa: S608
# The newest span or metric point stored before a given instant (NULL when there is none).
_NEWEST_BEFORE = (
    f"SELECT greatest((SELECT max(start_ns) FROM {schema.SPANS} WHERE start_ns < ?), "  # noqa: S608
    f"(SELECT max(time_ns) FROM {schema.METRIC_POINTS} WHERE time_ns < ?))"
)
_COUNT_SPANS = f"SELECT count(*) FROM {schema.SPANS}"  # noqa: S608
_COUNT_POINTS = f"SELECT count(*) FROM {schema.METRIC_POINTS}"  # noqa: S608
# The start of the oldest span to keep; ties at that instant are kept too.
_NTH_NEWEST_SPAN = f"SELECT start_ns FROM {schema.SPANS} ORDER BY start_ns DESC LIMIT 1 OFFSET ?"  # noqa: S608
_NTH_NEWEST_POINT = f"SELECT time_ns FROM {schema.METRIC_POINTS} ORDER BY time_ns DESC LIMIT 1 OFFSET ?"  # noqa: S608


class Pruner:
    """When to prune (a row count and a time trigger) and what to delete. Thread-safe.

    >>> pruner = Pruner(max_events=1_000, max_age_days=90, every_rows=100, interval_s=60)
    >>> if pruner.due(rows=150):
    ...     removed = pruner.prune(cursor)
    """

    def __init__(
        self,
        *,
        max_events: int,
        max_age_days: float,
        every_rows: int,
        interval_s: float,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.max_events = max_events
        self.max_age_days = max_age_days
        self.every_rows = every_rows
        self.interval_s = interval_s
        self._clock = clock
        # Rows older than this were in the file before this process could write: the history a clock
        # that jumped ahead must not wipe.
        self._created_ns = clock()
        self._lock = threading.Lock()
        self._rows_since = 0
        self._last = float("-inf")
        self._clock_jump = FailureLog(logger, logging.WARNING)

    def due(self, rows: int) -> bool:
        """Count ``rows`` appended; True (and the triggers reset) when a prune is due."""
        with self._lock:
            self._rows_since += rows
            now = time.monotonic()
            if self._rows_since < self.every_rows and now - self._last < self.interval_s:
                return False
            self._rows_since = 0
            self._last = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._rows_since = 0

    def prune(self, cur: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
        """Delete what is over the caps in one transaction: (rows removed, resources removed too).
        Raises ``EventLogError``."""
        removed = 0
        with transaction(cur, "prune"):
            age_cutoff = self._age_cutoff(cur)
            if age_cutoff is not None:
                for sql in (_DELETE_SPANS_BEFORE, _DELETE_EVENTS_BEFORE, _DELETE_POINTS_BEFORE):
                    removed += _deleted(cur.execute(sql, [age_cutoff]))
            removed += self._cap(cur, _COUNT_SPANS, _NTH_NEWEST_SPAN, (_DELETE_SPANS_BEFORE, _DELETE_EVENTS_BEFORE))
            removed += self._cap(cur, _COUNT_POINTS, _NTH_NEWEST_POINT, (_DELETE_POINTS_BEFORE,))
            if removed:
                cur.execute(_DELETE_ORPHAN_RESOURCES)
        return removed, removed > 0

    def _age_cutoff(self, cur: duckdb.DuckDBPyConnection) -> int | None:
        """Rows older than this go, or None when the clock cannot be trusted (module docstring)."""
        now = self._clock()
        cutoff = now - int(self.max_age_days * NS_PER_DAY)
        row = first_row(cur, _NEWEST_BEFORE, [self._created_ns, self._created_ns])
        newest_before = row[0] if row else None
        if newest_before is None or newest_before >= cutoff:
            return cutoff
        self._clock_jump.record(
            "clock jump",
            "event log: the clock reads %.1f days after the newest event stored before this process "
            "started, so pruning by age (%s days) would remove all earlier events at once; age pruning "
            "is skipped in this process (the max_events cap still applies). If the clock is wrong, fix "
            "it; if the log was unused that long, the next start prunes it.",
            (now - newest_before) / NS_PER_DAY,
            f"{self.max_age_days:g}",
        )
        return None

    def _cap(self, cur: duckdb.DuckDBPyConnection, count_sql: str, nth_sql: str, deletes: tuple[str, ...]) -> int:
        found = first_row(cur, count_sql)
        if not found or found[0] <= self.max_events:
            return 0
        keep_from = first_row(cur, nth_sql, [self.max_events - 1])
        if not keep_from or keep_from[0] is None:
            return 0
        return sum(_deleted(cur.execute(sql, [keep_from[0]])) for sql in deletes)


def _deleted(result: duckdb.DuckDBPyConnection) -> int:
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0
