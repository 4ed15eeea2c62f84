"""Inserting Arrow tables into the event log's tables, inside a transaction the caller opened; building
them from spooled rows (``tables``) once per merge.

Two ways: as written (a flush, a merge of this process's own spool), or skipping what is stored already
(merging a dead process's spool, which may have been stored before its owner died and could not empty
it). Resources are always stored once, by id.

Example::

    with transaction(cur, "append"):
        added = insert_tables(cur, {schema.SPANS: table}, stored_resources, skip_stored=False)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from exporters._failure_log import FailureLog
from exporters.eventlog import schema
from exporters.eventlog.arrow import arrow_schema, build_table
from exporters.eventlog.errors import EventLogError
from exporters.eventlog.frames import Frames
from exporters.eventlog.migrate import transaction
from exporters.eventlog.spool import Spool

__all__ = ["build", "insert_tables", "merge_spools", "tables"]

_BATCH_VIEW = "peft_arrow_batch"
_RECOVERY_FAILURES = FailureLog(logging.getLogger("exporters.eventlog"), logging.WARNING)
_SAME_SPAN = "WHERE NOT EXISTS (SELECT 1 FROM {spans} s WHERE s.trace_id = b.trace_id AND s.span_id = b.span_id)"

# Table names in SQL below come from schema constants (an allowlist), never from input.
_INSERT = {t: f"INSERT INTO {t} BY NAME SELECT * FROM {_BATCH_VIEW}" for t in schema.TABLES}  # noqa: S608
# A resource is stored once: only the batch's resources the table lacks are added.
_INSERT[schema.RESOURCES] = (
    f"INSERT INTO {schema.RESOURCES} BY NAME SELECT * FROM {_BATCH_VIEW} b "  # noqa: S608
    f"WHERE NOT EXISTS (SELECT 1 FROM {schema.RESOURCES} r WHERE r.resource_id = b.resource_id)"
)
# A dead process's spool: spans (and their events) already stored are skipped. Events go first, while the
# spans they belong to are not in the table yet.
_INSERT_NEW = {
    schema.SPANS: f"{_INSERT[schema.SPANS]} b {_SAME_SPAN.format(spans=schema.SPANS)}",
    schema.SPAN_EVENTS: f"{_INSERT[schema.SPAN_EVENTS]} b {_SAME_SPAN.format(spans=schema.SPANS)}",
}
_ORDER = {schema.RESOURCES: 0, schema.SPAN_EVENTS: 1, schema.SPANS: 2}
_ARROW = {table: arrow_schema(table) for table in schema.TABLES}
# What Arrow raises on values it cannot hold (zip(strict=True) on a row of the wrong width: ValueError).
_BAD_VALUES = (pa.ArrowException, ValueError, TypeError, OverflowError)


def _resource_ids_to_store(data: pa.Table, stored: set[str]) -> list[str] | None:
    """The resource ids of a ``resources`` batch, to remember once committed; None when the file holds
    them all already (then the batch need not be inserted)."""
    given = data.column("resource_id").to_pylist() if "resource_id" in data.column_names else []
    ids = [rid for rid in given if isinstance(rid, str)]
    if ids and len(ids) == len(given) and stored.issuperset(ids):
        return None
    return ids


def insert_tables(
    cur: duckdb.DuckDBPyConnection,
    batches: Iterable[tuple[str, pa.Table]],
    stored: set[str],
    *,
    skip_stored: bool,
) -> list[str]:
    """Insert ``(table, data)`` pairs; return the resource ids added (to remember once committed).
    ``stored``: resource ids known to be in the file. Raises ``duckdb.Error``."""
    todo = sorted(batches, key=lambda item: _ORDER.get(item[0], 3)) if skip_stored else list(batches)
    added: list[str] = []
    for table, data in todo:
        if table == schema.RESOURCES:
            ids = _resource_ids_to_store(data, stored)
            if ids is None:
                continue  # the usual case: this process's one resource, written already
            added = ids
        sql = _INSERT_NEW.get(table, _INSERT[table]) if skip_stored else _INSERT[table]
        cur.register(_BATCH_VIEW, data)
        try:
            cur.execute(sql)
        finally:
            cur.unregister(_BATCH_VIEW)
    return added


def tables(frames: Frames) -> tuple[list[tuple[str, pa.Table]], int]:
    """The Arrow tables of a spool's frames (built here, once per merge), in insert order: one per table
    and column list, resources once per id; and how many spans were dropped. A frame whose values Arrow
    refuses (an integer beyond 64 bits from an odd span) is dropped, counted and logged once, not retried
    forever; columns this version does not know (a frame of a newer version) raise ``EventLogError``: the
    file waits for a process that knows them."""
    try:
        return build(frames), 0
    except _BAD_VALUES:
        pass
    out: list[tuple[str, pa.Table]] = []
    dropped = 0
    for frame in frames:  # rare: find the bad frame(s); each frame is one export batch, kept or dropped whole
        try:
            out += build([frame])
        except _BAD_VALUES as exc:
            dropped += len(frame[schema.SPANS][1]) if schema.SPANS in frame else 0
            _RECOVERY_FAILURES.record(
                "spool values", "event log: a spooled batch Arrow refuses was dropped (%s)", type(exc).__name__
            )
    return out, dropped


def build(frames: Frames) -> list[tuple[str, pa.Table]]:
    """Like :func:`tables`, raising what Arrow raises on a bad value."""
    grouped: dict[tuple[str, tuple[str, ...]], list[Sequence[Any]]] = {}
    for frame in frames:
        for name, (columns, rows) in frame.items():
            grouped.setdefault((name, columns), []).extend(rows)
    out: list[tuple[str, pa.Table]] = []
    for (name, columns), rows in sorted(grouped.items(), key=lambda item: _ORDER.get(item[0][0], 3)):
        known = _ARROW.get(name)
        if known is None or not set(columns) <= set(known.names) or len(set(columns)) != len(columns):
            raise EventLogError(f"a spool frame holds columns of {name!r} this version does not know")
        if name == schema.RESOURCES and "resource_id" in columns:
            at, first = columns.index("resource_id"), dict[Any, Any]()
            for row in rows:
                first.setdefault(row[at], row)
            rows = list(first.values())
        if rows:
            arrow = known if tuple(known.names) == columns else pa.schema([known.field(c) for c in columns])
            out.append((name, build_table(list(zip(*rows, strict=True)), arrow)))
    return out


def merge_spools(cur: duckdb.DuckDBPyConnection, spool: Spool, stored: set[str], *, orphans: bool) -> tuple[int, int]:
    """Under the event log's lock: insert this process's spool (one transaction), then, with ``orphans``,
    every dead process's spool (one transaction each, skipping what is stored). Returns the rows merged and
    the spans dropped (values Arrow refuses). Raises ``EventLogError`` (what was not merged stays spooled
    for the next try)."""
    merged = dropped = 0
    with spool.taking() as taken:
        if taken is not None:
            with transaction(cur, "merge"):
                built, dropped = tables(taken[0])
                added = insert_tables(cur, built, stored, skip_stored=False)
            stored.update(added)
            merged += taken[1]
    if not orphans:
        return merged, dropped
    for orphan in spool.orphans():
        ok = False
        try:
            with transaction(cur, "recover"):
                built, lost = tables(orphan.frames)
                added = insert_tables(cur, built, stored, skip_stored=True)
            stored.update(added)
            ok = True
            merged += orphan.rows
            dropped += lost
        except EventLogError as exc:
            # Kept for the next scan; it must not fail this process's own merges (and flush()) meanwhile.
            _RECOVERY_FAILURES.record(
                type(exc).__name__, "event log: merging a dead process's spool %s failed: %s", orphan.path.name, exc
            )
        finally:
            orphan.done(ok)
    return merged, dropped
