"""A process for the erase-crash tests. Usage: _erase_child.py MODE DB [K]

Modes:
  fill DB      writes 300 spans named "erasedmarker" straight to DuckDB (left in the WAL: the instance
               lingers) and spools 5 more, then SIGKILLs itself: a database, a WAL and a dead spool.
  erase DB K   erases the log, SIGKILLing itself right after the K-th file of it was wiped; prints "done"
               if the erase finished first.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _exporter_helpers import make_spans

from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog
from exporters.eventlog import files as eventlog_files

MARKER = "erasedmarker"


def main(mode: str, db: Path, k: int) -> None:
    log = EventLog(db, merge_interval_s=3600, linger_s=3600)
    if mode == "fill":
        exporter = DuckDBSpanExporter(log)
        exporter.export(make_spans(300, name=MARKER))  # a burst: straight to DuckDB
        exporter.export(make_spans(5, name=MARKER))  # a trickle: to the spool
        os.kill(os.getpid(), signal.SIGKILL)
    wiped = 0
    wipe = eventlog_files.wipe

    def wipe_then_maybe_die(path: Path) -> None:
        nonlocal wiped
        wipe(path)
        wiped += 1
        if wiped == k:
            os.kill(os.getpid(), signal.SIGKILL)

    eventlog_files.wipe = wipe_then_maybe_die  # type: ignore[assignment]
    log.erase()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
