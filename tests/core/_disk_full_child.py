"""The disk-full scenario in its own process. Usage: _disk_full_child.py DIR

DIR is a small tmpfs. The service records on DIR/home; the disk is filled with DIR/filler, events are
sent while it is full, the filler is removed, more events are sent. Prints one JSON line with what was
sent, what flush()/shutdown() said and the pipeline's counters.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings

BEFORE, WHILE_FULL, AFTER = 200, 3_000, 1_000


def fill(path: Path) -> int:
    """Write zeros until the file system refuses even 512 bytes; returns how many went in."""
    written = 0
    size = 64 * 1024
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while size >= 512:
            try:
                written += os.write(fd, b"\0" * size)
            except OSError:
                size //= 4
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


def send(service: TelemetryService, phase: str, n: int) -> None:
    for i in range(n):
        service.track_event_sync(f"disk_{phase}", {"i": i, "pad": "x" * 200})


def main(folder: Path) -> None:
    settings = TelemetrySettings(
        home=folder / "home",
        install_global=False,
        sample_resources=False,
        do_not_track=False,
        flush_interval_s=0.05,
        metrics_interval_s=3600,
        queue_size=1_500,  # small: part of what is sent while the disk is full must be lost (and counted)
        lock_timeout_s=5,
    )
    service = TelemetryService(settings)
    service.enable().result(10)
    send(service, "before", BEFORE)
    flush_before = service.flush(timeout_s=30)
    filled = fill(folder / "filler")
    flushes_while_full = []
    for _ in range(WHILE_FULL // 500):  # in chunks the queue takes: the losses are the export's
        send(service, "full", 500)
        flushes_while_full.append(service.flush(timeout_s=10))
    (folder / "filler").unlink()
    send(service, "after", AFTER)
    flushes_after = []
    for _ in range(20):
        flushes_after.append(service.flush(timeout_s=10))
        if flushes_after[-1]:
            break
        time.sleep(0.2)
    stats = service.stats()
    clean = bool(service.shutdown(timeout=30))
    final = service.stats()
    print(
        json.dumps(
            {
                "sent": {"before": BEFORE, "full": WHILE_FULL, "after": AFTER},
                "filled_bytes": filled,
                "flush_before": flush_before,
                "flushes_while_full": flushes_while_full,
                "flushes_after": flushes_after,
                "shutdown_clean": clean,
                "stats_before_shutdown": stats.model_dump(),
                "stats": final.model_dump(),
                "db": str(settings.db_path),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
