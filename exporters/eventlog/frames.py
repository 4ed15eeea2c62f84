"""Spool frames: ``magic | epoch | CRC32 | length | payload``, the payload being the table count, then per
table its name and an Arrow IPC stream (see ``spool.py`` for how the spool uses them).

A reader stops at the first frame that is short, has a bad magic, a bad CRC, or an epoch other than the
first frame's: what a kill -9 mid-write leaves, or frames already merged left behind newer ones.

Example::

    data = encode({"spans": table}, epoch=7) + encode({"spans": more}, epoch=7)
    frames, rows = decode(data)  # {"spans": [table, more]}, rows in both
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.ipc as ipc

__all__ = ["HEADER_SIZE", "SUFFIX", "Frames", "decode", "encode"]

_MAGIC = b"PSP1"
_HEAD = struct.Struct("<4sIIQ")  # magic, epoch, CRC32 of the payload (seeded with the epoch), payload length
_COUNT = struct.Struct("<H")
_NAME = struct.Struct("<H")
_BODY = struct.Struct("<Q")
# Given, not defaulted: pyarrow reads two environment variables per writer to pick defaults.
_WRITE_OPTIONS = ipc.IpcWriteOptions()
_READ_OPTIONS = ipc.IpcReadOptions()
HEADER_SIZE = _HEAD.size
#: The spool files' name suffix.
SUFFIX = ".spool"

#: Tables decoded from a run of frames: name -> tables in write order; plus the rows they hold.
Frames = dict[str, list[pa.Table]]


def encode(batches: Mapping[str, pa.Table], epoch: int = 0) -> bytes:
    """One frame holding ``batches``. ``decode(encode(b))`` gives the tables back."""
    parts = [_COUNT.pack(len(batches))]
    for name, table in batches.items():
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, table.schema, options=_WRITE_OPTIONS) as writer:
            writer.write_table(table)
        body = sink.getvalue().to_pybytes()
        raw = name.encode()
        parts += [_NAME.pack(len(raw)), raw, _BODY.pack(len(body)), body]
    payload = b"".join(parts)
    return _HEAD.pack(_MAGIC, epoch, zlib.crc32(payload, epoch), len(payload)) + payload


def decode(data: bytes | memoryview) -> tuple[Frames, int]:
    """The tables of every intact frame from the start of ``data``, and the rows in them; stops at the
    first torn or damaged frame (what a kill -9 mid-write leaves), or at one of an earlier epoch (frames
    already merged, left behind the current ones: see ``Spool.taking``)."""
    view = memoryview(data)
    found: Frames = {}
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
        try:
            frame = _tables(view[start:end])
        except (ValueError, pa.ArrowException, struct.error):
            break  # a CRC collision on garbage: as torn
        for name, table in frame:
            found.setdefault(name, []).append(table)
            rows += table.num_rows
        offset = end
    return found, rows


def _tables(payload: memoryview) -> list[tuple[str, pa.Table]]:
    (count,) = _COUNT.unpack_from(payload, 0)
    at, out = _COUNT.size, []
    for _ in range(count):
        (size,) = _NAME.unpack_from(payload, at)
        name = bytes(payload[at + _NAME.size : at + _NAME.size + size]).decode()
        at += _NAME.size + size
        (size,) = _BODY.unpack_from(payload, at)
        at += _BODY.size
        if at + size > len(payload):
            raise ValueError("frame body overruns its payload")
        out.append((name, ipc.open_stream(pa.py_buffer(payload[at : at + size]), options=_READ_OPTIONS).read_all()))
        at += size
    return out
