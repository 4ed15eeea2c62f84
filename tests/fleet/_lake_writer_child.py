"""A lake writer stopped mid-publish. Usage: _lake_writer_child.py LAKE INSTALL_ID kill|pause

Publishes one batch of 5 span rows of INSTALL_ID, then one more, and stops after the second batch's temporary
file is written and synced, before its rename: ``kill`` SIGKILLs itself there (what a hub killed mid-write
leaves); ``pause`` prints "paused", waits for a line on stdin, then renames (a live writer).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pyarrow as pa

from exporters.lake import LakeWriter
from exporters.lake import writer as lake_writer
from exporters.lake.schema import LAKE_SPANS_ARROW


def rows(install_id: str, start: int, n: int) -> pa.Table:
    now = time.time_ns()
    columns = {field.name: [None] * n for field in LAKE_SPANS_ARROW}
    columns |= {
        "share_id": [f"share-{os.getpid()}-{start + i}" for i in range(n)],
        "install_id": [install_id] * n,
        "name": ["marker_span"] * n,
        "start_ns": [now] * n,
        "end_ns": [now + 1] * n,
    }
    return pa.Table.from_pydict(columns, schema=LAKE_SPANS_ARROW)


def main(lake: Path, install_id: str, mode: str) -> None:
    writer = LakeWriter(lake)
    writer.write(rows(install_id, 0, 5))
    replace = os.replace

    def die_before_rename(src: object, dst: object) -> None:
        if str(dst).endswith(".parquet") and mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if str(dst).endswith(".parquet"):
            print("paused", flush=True)
            sys.stdin.readline()
        replace(src, dst)  # type: ignore[arg-type]

    lake_writer.os.replace = die_before_rename  # type: ignore[attr-defined]
    writer.write(rows(install_id, 5, 5))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
