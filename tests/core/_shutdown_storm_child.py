"""Many threads calling track_event while the service shuts down, in its own process.
Usage: _shutdown_storm_child.py HOME TIMEOUT

16 threads send events as fast as they can (the queue fills, drops are counted); shutdown(TIMEOUT) runs
meanwhile; the threads go on sending after it. Prints one JSON line: how long shutdown took, exceptions the
threads saw, events sent. The log goes to stderr.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


def main(home: Path, timeout: float) -> None:
    settings = TelemetrySettings(
        home=home, install_global=False, sample_resources=False, do_not_track=False,
        flush_interval_s=0.1, merge_interval_s=1.0, metrics_interval_s=3600, lock_timeout_s=5,
    )  # fmt: skip
    service = TelemetryService(settings)
    service.enable().result(10)
    errors: list[str] = []
    sent = [0] * 16
    stop = threading.Event()

    def send(k: int) -> None:
        while not stop.is_set():
            try:
                service.track_event_sync("storm", {"k": k, "n": sent[k]})
            except Exception as exc:  # the promise under test: never reached
                errors.append(repr(exc))
                return
            sent[k] += 1

    threads = [threading.Thread(target=send, args=(k,), daemon=True) for k in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    service.shutdown(timeout=timeout)
    took = time.monotonic() - started
    time.sleep(0.3)  # calls after shutdown are ignored, not raised
    stop.set()
    for thread in threads:
        thread.join()
    print(json.dumps({"shutdown_s": took, "errors": errors, "sent": sum(sent)}), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]))
