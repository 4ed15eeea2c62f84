"""One install as a real process: records events through the public service, then keeps running (its
sharing worker sends) until killed or until ``linger`` seconds passed.

    python _install_child.py HOME EVENTS LINGER_S [TAG]

A TAG starting with "trickle" records 10 events a second and never flushes: what reaches the event log is
what the pipeline writes on its own (the spool merged every merge_interval_s).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


def main() -> None:
    home, events, linger = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    tag = sys.argv[4] if len(sys.argv) > 4 else "run"
    settings = TelemetrySettings(home=home, install_global=False, sample_resources=False, consent_poll_s=0.2)
    service = TelemetryService(settings)
    trickle = tag.startswith("trickle")
    for index in range(events):
        service.track_event_sync("model_loaded", {"index": index, "tag": tag, "contact": "alice@example.com"})
        if tag == "metrics":  # metric points too (the sharing worker sends them to /v1/metrics)
            service.track_performance_sync("step_time", 10.0 + index, "ms")
        if trickle:
            time.sleep(0.1)
    if not trickle:
        service.flush()
    print("recorded", flush=True)
    time.sleep(linger)
    service.shutdown()


if __name__ == "__main__":
    main()
