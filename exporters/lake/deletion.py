"""Deleting one install's rows (spans and metric points) from the lake: each affected file is rewritten
without them, atomically.

The tombstone (``_deletions/<install_id>.json``) is written first, so every hub refuses that install's
data from then on; then every file holding its rows is replaced by a copy without them (written under a
dot-name, then renamed over the original), or removed when nothing else is left. A reader sees the old file
or the new one, never half of either. Temporary files killed writers left behind go first (they may hold the
install's rows: ``leftovers.py``).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from .leftovers import remove_leftovers
from .schema import DELETIONS_DIR, LAKE_KINDS, PARTITION, all_lake_files
from .writer import publish_parquet

_INSTALL_ID = re.compile(r"^[0-9a-f]{64}$")


def deleted_installs(lake: Path) -> set[str]:
    """Install ids whose deletion was confirmed (their data is refused from then on)."""
    root = Path(lake) / DELETIONS_DIR
    return {p.stem for p in root.glob("*.json") if _INSTALL_ID.match(p.stem)}


def delete_install(lake: Path, install_id: str) -> int:
    """Remove every row of ``install_id`` from the lake; returns how many rows were removed.

    Example::

        removed = delete_install(Path("/srv/lake"), hashlib.sha256(key).hexdigest())
    """
    if not _INSTALL_ID.match(install_id):
        raise ValueError("install_id must be 64 lowercase hex characters")
    lake = Path(lake)
    tombstone = lake / DELETIONS_DIR / f"{install_id}.json"
    tombstone.parent.mkdir(parents=True, exist_ok=True)
    temp = tombstone.with_name(f".{tombstone.name}.tmp")
    temp.write_text(json.dumps({"install_id": install_id, "requested_ns": time.time_ns()}))
    os.replace(temp, tombstone)
    removed = 0
    for kind in LAKE_KINDS:  # a killed writer's temporary file may hold this install's rows too
        for partition in (lake / kind).glob(f"{PARTITION}=*"):
            remove_leftovers(partition)
    for path in all_lake_files(lake):  # spans and metric points alike
        try:
            table = pq.read_table(path)
        except FileNotFoundError:  # replaced or removed by another hub's deletion meanwhile
            continue
        mine = pc.equal(table["install_id"], install_id)
        count = pc.sum(mine.cast("int64")).as_py() or 0
        if not count:
            continue
        kept = table.filter(pc.invert(pc.fill_null(mine, False)))
        if kept.num_rows:
            publish_parquet(kept, path)
        else:
            path.unlink(missing_ok=True)
        removed += count
    done = {"install_id": install_id, "removed_rows": removed, "confirmed_ns": time.time_ns()}
    temp.write_text(json.dumps(done))
    os.replace(temp, tombstone)
    return removed
