"""A process that spools spans, for the spool tests. Usage: _spool_child.py MODE DB N

Modes:
  service DB N     a recording TelemetryService (flush 0.05 s, merge interval 1 h) on the data home DB;
                   tracks N events, waits past the flush window, prints "spooled", sleeps (to be killed).
  spool DB N       exports N spans through DuckDBSpanExporter into an EventLog with a 1 h merge interval,
                   prints "spooled", sleeps (to be killed).
  merged-copy DB N spools N spans, keeps a copy of the spool file, merges, then puts the copy back under
                   another name and SIGKILLs itself: a crash between the DuckDB commit and the emptying.
  erased DB N      spools N spans, prints "spooled", waits for a line on stdin (the parent erases the log
                   meanwhile), spools 3 more, merges, prints "before B after A" (spans stored by name).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _exporter_helpers import make_spans

from exporters.duckdb_exporter import DuckDBSpanExporter
from exporters.eventlog import EventLog


def main(mode: str, db: Path, n: int) -> None:
    if mode == "service":
        from telemetry.service import TelemetryService
        from telemetry.settings import TelemetrySettings

        settings = TelemetrySettings(
            home=db, install_global=False, sample_resources=False, flush_interval_s=0.05, merge_interval_s=300
        )
        service = TelemetryService(settings)
        service.enable().result(30)
        for i in range(n):
            service.track_event_sync("spooled_event", {"i": i})
        time.sleep(1.0)  # well past the flush window, far before the merge interval
        print("spooled", flush=True)
        time.sleep(3600)
    log = EventLog(db, merge_interval_s=3600)
    exporter = DuckDBSpanExporter(log)
    exporter.export(make_spans(n, name="spooled"))
    if mode == "spool":
        print("spooled", flush=True)
        time.sleep(3600)
    elif mode == "erased":
        print("spooled", flush=True)
        sys.stdin.readline()
        exporter.export(make_spans(3, name="after"))
        assert log.merge()
        with log.reader() as cur:
            counts = dict(cur.execute("SELECT name, count(*) FROM spans GROUP BY 1").fetchall())
        log.close()
        print(f"before {counts.get('spooled', 0)} after {counts.get('after', 0)}", flush=True)
    elif mode == "merged-copy":
        spool = log._spool
        assert spool._path is not None
        copy = spool._path.read_bytes()
        assert log.merge()
        (spool.folder / f"{os.getpid()}-copy.spool").write_bytes(copy)
        print("merged", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
