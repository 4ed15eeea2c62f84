"""Reading the event log in bounded chunks for the OTLP export, without keeping writers out.

Keyset pagination on a time column (``start_ns`` for spans, ``time_ns`` for metric points). Each chunk
is read under its own short ``reader()`` hold, so an export of a million rows to a slow stream never
locks other threads or processes out for longer than one chunk. A chunk is found in two steps: first the
key of the row just past the chunk (a top-N over the key column alone, which zone maps prune), then the
rows below that key. Rows that share a key are never split across chunks: a chunk that would be made of
one key value alone takes all rows of that value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from exporters.eventlog import EventLog, schema
from exporters.eventlog.migrate import first_row

_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Keyed:
    """The SQL to page through one table by one key column (names from ``schema`` only)."""

    bounds: str
    boundary: dict[str, str]
    chunk: dict[str, str]
    ties: str

    @classmethod
    def of(cls, table: str, key: str, *, rows_from: str | None = None, extra: tuple[str, ...] = ()) -> Keyed:
        """Paging by ``key`` of ``table``; rows are read from ``rows_from`` (a view over the table that adds
        the ``extra`` columns) when given."""
        assert table in schema.TABLES and key in schema.column_names(table)
        cols = ", ".join((*schema.column_names(table), *extra))
        source = rows_from or table
        return cls(
            bounds=f"SELECT min({key}), max({key}) FROM {table}",  # noqa: S608
            boundary={
                op: f"SELECT {key} FROM {table} WHERE {key} {op} ? AND {key} < ? "  # noqa: S608
                f"ORDER BY {key} LIMIT 1 OFFSET ?"
                for op in (">=", ">")
            },
            chunk={
                op: f"SELECT {cols} FROM {source} WHERE {key} {op} ? AND {key} < ? ORDER BY {key}"  # noqa: S608
                for op in (">=", ">")
            },
            ties=f"SELECT {cols} FROM {source} WHERE {key} = ?",  # noqa: S608
        )


SPANS_BY_START = Keyed.of(schema.SPANS, "start_ns", rows_from=schema.SPANS_WITH_RESOURCE, extra=("resource",))
POINTS_BY_TIME = Keyed.of(schema.METRIC_POINTS, "time_ns")

_CHUNK_KEYS = "peft_export_keys"
_EVENT_COLS = "trace_id, span_id, seq, name, time_ns, attributes"
_COUNT_EVENTS = f"SELECT count(*) FROM {schema.SPAN_EVENTS}"  # noqa: S608
# Events stamped outside their own span's [start, end] (possible with explicit timestamps) force the
# lookup by id alone; otherwise a chunk's events are found in the chunk's time window, which zone maps prune.
_STRAY_EVENTS = f"""
SELECT count(*) FROM {schema.SPAN_EVENTS} e JOIN {schema.SPANS} s USING (trace_id, span_id)
WHERE e.time_ns < s.start_ns OR e.time_ns > s.end_ns
"""  # noqa: S608
_EVENTS_BY_ID = f"""
SELECT {_EVENT_COLS} FROM {schema.SPAN_EVENTS} e
SEMI JOIN {_CHUNK_KEYS} k ON e.trace_id = k.trace_id AND e.span_id = k.span_id
ORDER BY trace_id, span_id, seq
"""  # noqa: S608
_EVENTS_IN_WINDOW = f"""
SELECT {_EVENT_COLS} FROM {schema.SPAN_EVENTS} e
SEMI JOIN {_CHUNK_KEYS} k ON e.trace_id = k.trace_id AND e.span_id = k.span_id
WHERE e.time_ns BETWEEN ? AND ?
ORDER BY trace_id, span_id, seq
"""  # noqa: S608

ChunkHook = Callable[[duckdb.DuckDBPyConnection, pa.Table], Any]


def chunks(
    log: EventLog,
    keyed: Keyed,
    start_ns: int | None,
    end_ns: int | None,
    rows: int,
    with_chunk: ChunkHook | None = None,
) -> Iterator[tuple[pa.Table, Any]]:
    """Chunks of at most ``rows`` rows (more only for one key value shared by more rows) with keys in
    ``[start_ns, end_ns)``, in key order. ``end_ns=None`` means up to the newest key when the export
    starts, so rows written meanwhile cannot keep it running forever. ``with_chunk`` runs under the same
    hold as the chunk's read and its result is yielded alongside."""
    with log.reader() as cur:
        low, high = first_row(cur, keyed.bounds) or (None, None)
    if low is None:
        return
    lo = low if start_ns is None else max(start_ns, low)
    hi = high + 1 if end_ns is None else min(end_ns, high + 1)
    op = ">="
    while lo < hi:
        with log.reader() as cur:
            found = first_row(cur, keyed.boundary[op], [lo, hi, rows])
            if found is None:
                table = cur.sql(keyed.chunk[op], params=[lo, hi]).to_arrow_table()
                done = True
            elif op == ">=" and found[0] == lo:
                table = cur.sql(keyed.ties, params=[lo]).to_arrow_table()
                done, op = False, ">"
            else:
                table = cur.sql(keyed.chunk[op], params=[lo, found[0]]).to_arrow_table()
                done, op, lo = False, ">=", found[0]
            extra = with_chunk(cur, table) if with_chunk is not None and table.num_rows else None
        if table.num_rows:
            yield table, extra
        if done:
            return


def columns(table: pa.Table, names: list[str] | None = None) -> list[list[Any]]:
    """Python lists per column (one C-level conversion per column, not per cell)."""
    picked = table.select(names) if names is not None else table
    return [picked.column(i).to_pylist() for i in range(picked.num_columns)]


EventsOfChunk = dict[tuple[str, str], list[tuple[int, str, str | None]]]


def events_fetcher(log: EventLog) -> Callable[[duckdb.DuckDBPyConnection, pa.Table], EventsOfChunk]:
    """A ``with_chunk`` hook that reads the span events of a chunk of spans:
    ``{(trace_id, span_id): [(time_ns, name, attributes_json), ...]}`` in ``seq`` order."""
    with log.reader() as cur:
        total = (first_row(cur, _COUNT_EVENTS) or (0,))[0]
        stray = (first_row(cur, _STRAY_EVENTS) or (0,))[0] if total else 0

    def fetch(cur: duckdb.DuckDBPyConnection, spans: pa.Table) -> EventsOfChunk:
        if not total:
            return {}
        cur.register(_CHUNK_KEYS, spans.select(["trace_id", "span_id"]))
        try:
            if stray:
                found = cur.sql(_EVENTS_BY_ID).to_arrow_table()
            else:
                low = pc.min(spans.column("start_ns")).as_py()
                high = pc.max(spans.column("end_ns")).as_py()
                window = [low, high if high is not None else _INT64_MAX]
                found = cur.sql(_EVENTS_IN_WINDOW, params=window).to_arrow_table()
        finally:
            cur.unregister(_CHUNK_KEYS)
        events: EventsOfChunk = {}
        for trace_id, span_id, _seq, name, time_ns, attributes in zip(*columns(found), strict=True):
            events.setdefault((trace_id, span_id), []).append((time_ns, name, attributes))
        return events

    return fetch
