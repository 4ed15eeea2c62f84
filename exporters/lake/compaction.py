"""Compaction: one day's many small files into one, duplicates (retried batches) removed.

The compacted file is published under its final name first; only then are the files it replaces removed.
In between, a reader sees every row twice at most, which the readers' deduplication by ``share_id`` already
absorbs, so no reader ever sees a row missing or counted twice. Rows of installs whose deletion was
confirmed (a tombstone) are left out, so a compaction racing a deletion cannot bring them back.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .deletion import deleted_installs
from .leftovers import remove_leftovers
from .schema import COMPACTED_PREFIX, LAKE_KINDS, PARTITION, SPANS_DIR
from .writer import publish_parquet


def compact_day(lake: Path, day: str, *, min_files: int = 2, kind: str = SPANS_DIR) -> tuple[int, int]:
    """Compact partition ``day`` (``YYYY-MM-DD``) of ``kind`` (``spans`` or ``metrics``); returns (files
    replaced, rows kept). Files a hub publishes meanwhile are not touched (they are not in the list read
    here).

    Example::

        compact_day(Path("/srv/lake"), "2026-12-04", kind="metrics")
    """
    _, arrow, _ = LAKE_KINDS[kind]
    partition = Path(lake) / kind / f"{PARTITION}={day}"
    remove_leftovers(partition)  # what killed writers left: disk never freed otherwise
    files = sorted(p for p in partition.glob("*.parquet") if not p.name.startswith("."))
    if len(files) < min_files:
        return 0, 0
    tables = []
    for path in files:
        try:
            tables.append(pq.read_table(path).select(arrow.names).cast(arrow))
        except FileNotFoundError:  # another compaction or a deletion removed it meanwhile
            continue
    table = pa.concat_tables(tables).sort_by([("share_id", "ascending"), ("received_ns", "ascending")])
    share_ids = table["share_id"].combine_chunks()
    if len(share_ids) > 1:  # keep the first copy of each share id (sorted: copies are neighbours)
        first = pc.not_equal(share_ids[1:], share_ids[:-1])
        table = table.filter(pa.concat_arrays([pa.array([True]), first.fill_null(True)]))
    deleted = deleted_installs(lake)
    if deleted:
        gone = pc.fill_null(pc.is_in(table["install_id"], pa.array(sorted(deleted), pa.string())), False)
        table = table.filter(pc.invert(gone))
    publish_parquet(table, partition / f"{COMPACTED_PREFIX}{secrets.token_hex(8)}.parquet")
    for path in files:
        path.unlink(missing_ok=True)
    return len(files), table.num_rows
