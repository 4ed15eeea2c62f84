"""A trickle of events through a full disk, in its own process. Usage: _trickle_full_child.py DIR SECONDS

DIR is a small tmpfs. The service records on DIR/home (events go through the spool); the disk is filled,
events trickle in for SECONDS, the filler is removed, more events trickle in. Prints one JSON line: what was
sent per phase, what was stored, the counters. The log goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb
from _disk_full_child import fill

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


def main(folder: Path, seconds: float) -> None:
    settings = TelemetrySettings(
        home=folder / "home", install_global=False, sample_resources=False, do_not_track=False,
        flush_interval_s=0.1, merge_interval_s=1.0, metrics_interval_s=3600, lock_timeout_s=5,
    )  # fmt: skip
    service = TelemetryService(settings)
    service.enable().result(10)
    sent = {"before": 0, "full": 0, "after": 0}

    def trickle(phase: str, duration: float) -> None:
        end = time.monotonic() + duration
        while time.monotonic() < end:
            service.track_event_sync(f"trickle_{phase}", {"i": sent[phase], "pad": "y" * 300})
            sent[phase] += 1
            time.sleep(0.02)

    trickle("before", 1.0)
    assert service.flush(10)
    fill(folder / "filler")
    trickle("full", seconds)
    (folder / "filler").unlink()
    trickle("after", 1.0)
    flushed = service.flush(30)
    stats = service.stats().model_dump()
    service.shutdown(timeout=30)
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        rows = con.execute("SELECT event_type, count(*) FROM spans WHERE category = 'event' GROUP BY 1").fetchall()
    stored = {name.removeprefix("trickle_"): count for name, count in rows}
    print(json.dumps({"sent": sent, "stored": stored, "flushed": flushed, "stats": stats}), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]))
