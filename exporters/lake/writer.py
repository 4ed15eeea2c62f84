"""Publishing span and metric point batches to the lake: one Parquet file per day per batch, never half visible.

Each file is written under a dot-name in its partition directory, flushed to disk, then renamed to its
final ``part-<hub>-<seq>.parquet`` name (the folder synced after, so the name survives a power loss): a
reader's glob sees either no file or the whole file. ``hub`` is
random per writer, so writers in several processes or machines never pick the same name. A writer holds a
lock on its temporary file until the rename, so one a killed writer left behind is found and removed
(``leftovers.py``: deletions and compactions do it).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from exporters.fs import fsync_dir

from .leftovers import hold
from .schema import (
    DELETIONS_DIR,
    LAKE_KINDS,
    LAKE_METRIC_COLUMNS,
    LAKE_SCHEMA_VERSION,
    LAKE_SPAN_COLUMNS,
    META_FILE,
    METRICS_DIR,
    PARTITION,
    SPANS_DIR,
)

_NS_PER_DAY = 86_400 * 1_000_000_000
# A typed scalar: pyarrow converts a bare Python int by first trying to import numpy (~50 us where it is
# not installed), on every call.
_DAY = pa.scalar(_NS_PER_DAY, pa.int64())


def day_of(start_ns: int) -> str:
    """The ``day`` partition value of a span that started at ``start_ns`` (UTC)."""
    return datetime.fromtimestamp(start_ns / 1e9, UTC).strftime("%Y-%m-%d")


def publish_parquet(table: pa.Table, target: Path, *, fsync: bool = True) -> None:
    """Write ``table`` to ``target`` atomically (temporary dot-name in the same directory, then rename). With
    ``fsync``, the data, the new name and a new day's folder are on disk before this returns: the hub
    acknowledges a request once its rows are published, so a power loss must not take the name back."""
    new_folder = not target.parent.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        hold(fd)  # until the rename: a leftover of a writer killed before it is told by its free lock
        pq.write_table(table, temp, compression="zstd")  # by path: Arrow's own I/O, same inode
        if fsync:
            os.fsync(fd)
        os.replace(temp, target)
        if fsync:
            fsync_dir(target.parent)
            if new_folder:
                fsync_dir(target.parent.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


class LakeWriter:
    """Writes span batches (``LAKE_SPANS_ARROW``) and metric point batches (``LAKE_METRICS_ARROW``) into
    ``lake``; safe from several threads.

    Example::

        writer = LakeWriter(Path("/srv/lake"))
        writer.write(table)  # spans: one file per day the batch touches
        writer.write_metrics(points)  # metric points, the same way under metrics/
    """

    def __init__(self, lake: Path, *, hub_id: str | None = None, fsync: bool = True) -> None:
        self.lake = Path(lake).absolute()
        self.hub_id = hub_id or secrets.token_hex(8)
        self._fsync = fsync
        self._seq = 0
        self._lock = threading.Lock()
        (self.lake / SPANS_DIR).mkdir(parents=True, exist_ok=True)
        (self.lake / METRICS_DIR).mkdir(parents=True, exist_ok=True)
        (self.lake / DELETIONS_DIR).mkdir(parents=True, exist_ok=True)
        self._write_meta()
        self.files_written = 0
        self.rows_written = 0

    def _write_meta(self) -> None:
        meta = self.lake / META_FILE
        if meta.exists():
            found = json.loads(meta.read_text()).get("lake_schema_version")
            if not isinstance(found, int) or found > LAKE_SCHEMA_VERSION:
                raise ValueError(f"{meta} is lake schema version {found!r}; this hub writes {LAKE_SCHEMA_VERSION}")
            if found == LAKE_SCHEMA_VERSION:
                return
            # An older lake is brought forward in place: versions only add, so its files stay as they are.
        body = {
            "lake_schema_version": LAKE_SCHEMA_VERSION,
            "spans": dict(LAKE_SPAN_COLUMNS),
            "metrics": dict(LAKE_METRIC_COLUMNS),
            "partition": PARTITION,
        }
        temp = meta.with_name(f".{META_FILE}.{secrets.token_hex(4)}.tmp")
        temp.write_text(json.dumps(body, indent=2))
        os.replace(temp, meta)

    def write(self, table: pa.Table) -> int:
        """Publish span rows (one file per day touched); returns how many rows were written."""
        return self._write(table, SPANS_DIR)

    def write_metrics(self, table: pa.Table) -> int:
        """Publish metric point rows (one file per day of ``time_ns`` touched); returns the rows written."""
        return self._write(table, METRICS_DIR)

    def _write(self, table: pa.Table, kind: str) -> int:
        if table.num_rows == 0:
            return 0
        _, arrow, time_column = LAKE_KINDS[kind]
        if not table.schema.equals(arrow):  # the hub's tables already are: a cast would copy every column
            table = table.select(arrow.names).cast(arrow)
        day_numbers = pc.divide(table[time_column], _DAY)
        days = pc.unique(day_numbers).to_pylist()
        for day_number in days:
            # Nearly every batch is one day's: then it is written as it is, without a filtered copy.
            part = table if len(days) == 1 else table.filter(pc.equal(day_numbers, pa.scalar(day_number, pa.int64())))
            with self._lock:
                self._seq += 1
                seq = self._seq
            name = f"part-{self.hub_id}-{seq:09d}.parquet"
            day = day_of(day_number * _NS_PER_DAY)
            publish_parquet(part, self.lake / kind / f"{PARTITION}={day}" / name, fsync=self._fsync)
            with self._lock:
                self.files_written += 1
                self.rows_written += part.num_rows
        return table.num_rows
