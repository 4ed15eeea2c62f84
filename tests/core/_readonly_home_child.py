"""Recording into a data home this user cannot write (run as an unprivileged user by the tests).
Usage: _readonly_home_child.py HOME

Consent was given earlier (the config is readable); every write fails. Sends 2,000 events in a trickle and
prints one JSON line: what flush() and shutdown() said, and the counters. The log goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings

settings = TelemetrySettings(
    home=sys.argv[1], install_global=False, sample_resources=False, flush_interval_s=0.1, merge_interval_s=1.0
)
service = TelemetryService(settings)
recording = service.is_enabled()
for i in range(2000):
    service.track_event_sync("read_only_home", {"i": i})
    if i % 100 == 0:
        time.sleep(0.05)
flushed = service.flush(10)
stats = service.stats().model_dump()
clean = bool(service.shutdown(timeout=5))
print(json.dumps({"recording": recording, "flushed": flushed, "clean": clean, "stats": stats}), flush=True)
