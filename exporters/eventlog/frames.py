"""Spool frames: ``magic | epoch | CRC32 | length | payload``, the payload being the batch's plain rows as
one orjson array ``[[table, [column, ...], [[value, ...], ...]], ...]`` (see ``spool.py`` for how the spool
uses them; ``insert.tables`` builds the Arrow tables once per merge).

Why rows and not Arrow: a trickle flushes ~3 spans twice a second, and building three Arrow tables cache-cold
plus their IPC streams cost ~0.6 ms per flush; orjson writes the same values in ~20 us. The values are the
ones the exporter would have put in its Arrow tables (``arrow.spans_to_rows``): already anonymized, JSON
columns as the orjson text they hold. Each table names its columns, so a frame written by another version of
the library is read by name, not position.

A reader stops at the first frame that is short, has a bad magic, a bad CRC, or an epoch other than the
first frame's: what a kill -9 mid-write leaves, or frames already merged left behind newer ones.

Example::

    data = encode({"consent_ledger": rows}, epoch=7) + encode({"consent_ledger": more}, epoch=7)
    frames, count = decode(data)  # [{"consent_ledger": (columns, rows)}, {... more}], rows in both
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from exporters.eventlog import schema

__all__ = ["HEADER_SIZE", "SUFFIX", "Batch", "Frame", "Frames", "checked", "decode", "encode"]

_MAGIC = b"PSP2"  # PSP1 held Arrow IPC streams (never released): read as torn
_HEAD = struct.Struct("<4sIIQ")  # magic, epoch, CRC32 of the payload (seeded with the epoch), payload length
HEADER_SIZE = _HEAD.size
#: The spool files' name suffix.
SUFFIX = ".spool"

#: Rows per table name, each a sequence of values in ``schema.column_names(table)`` order.
Batch = Mapping[str, Sequence[Sequence[Any]]]
#: One decoded frame: table -> (its column names, its rows).
Frame = dict[str, tuple[tuple[str, ...], Sequence[Sequence[Any]]]]
#: The frames of a spool, in write order.
Frames = list[Frame]

# Each table's column list, serialized once: a frame embeds it as is.
_COLUMNS = {table: orjson.Fragment(orjson.dumps(schema.column_names(table))) for table in schema.TABLES}


def _json_text(value: Any) -> str:
    """JSON columns hold orjson's bytes (always UTF-8): written as the text they are."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"a spooled value of type {type(value).__name__}")


def _repaired(value: Any) -> Any:
    # What ``arrow.build_table`` does to text Arrow refuses (lone surrogates), so the stored rows are the same.
    return value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str) else value


def checked(batches: Batch) -> dict[str, Sequence[Sequence[Any]]]:
    """``batches`` without empty tables; ValueError on a table the schema lacks or a row of another width."""
    out: dict[str, Sequence[Sequence[Any]]] = {}
    for table, rows in batches.items():
        if table not in schema.TABLES:
            raise ValueError(f"unknown event log table {table!r}")
        width = len(schema.TABLES[table])
        if any(len(row) != width for row in rows):
            raise ValueError(f"rows of {table} must hold its {width} columns in schema order")
        if rows:
            out[table] = rows
    return out


def encode(batches: Batch, epoch: int = 0, *, columns: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """One frame holding ``batches``; ``columns`` overrides a table's column names (tests: another
    version's frames). Raises ValueError (a table the schema lacks) or TypeError (a value JSON cannot hold)."""
    try:
        parts = [[name, _COLUMNS[name] if columns is None else columns[name], rows] for name, rows in batches.items()]
    except KeyError as exc:
        raise ValueError(f"unknown event log table {exc.args[0]!r}") from None
    try:
        payload = orjson.dumps(parts, default=_json_text)
    except orjson.JSONEncodeError:
        # A lone surrogate in some text (orjson refuses it, like Arrow): repaired as Arrow's path would.
        for part in parts:
            part[2] = [[_repaired(v) for v in row] for row in part[2]]
        payload = orjson.dumps(parts, default=_json_text)
    return _HEAD.pack(_MAGIC, epoch, zlib.crc32(payload, epoch), len(payload)) + payload


def decode(data: bytes | memoryview) -> tuple[Frames, int]:
    """The batches of every intact frame from the start of ``data``, and the rows in them; stops at the
    first torn or damaged frame (what a kill -9 mid-write leaves), or at one of an earlier epoch (frames
    already merged, left behind the current ones: see ``Spool.taking``)."""
    view = memoryview(data)
    found: Frames = []
    rows = offset = 0
    first_epoch: int | None = None
    while offset + _HEAD.size <= len(view):
        magic, epoch, crc, length = _HEAD.unpack_from(view, offset)
        start, end = offset + _HEAD.size, offset + _HEAD.size + length
        if magic != _MAGIC or end > len(view) or epoch != (epoch if first_epoch is None else first_epoch):
            break
        if zlib.crc32(view[start:end], epoch) != crc:
            break
        first_epoch = epoch
        frame = _frame(view[start:end])
        if frame is None:
            break  # a CRC collision on garbage: as torn
        found.append(frame)
        rows += sum(len(table_rows) for _, table_rows in frame.values())
        offset = end
    return found, rows


def _frame(payload: memoryview) -> Frame | None:
    try:
        parts = orjson.loads(payload)
        frame: Frame = {}
        for name, columns, rows in parts:
            if not isinstance(name, str) or not isinstance(columns, list) or not isinstance(rows, list):
                return None
            frame[name] = (tuple(columns), rows)
        return frame
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
