"""Prints this install's anonymous id after enabling recording (run as an unprivileged user by the tests).
Usage: _secret_child.py HOME"""

from __future__ import annotations

import json
import sys

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings

service = TelemetryService(TelemetrySettings(home=sys.argv[1], install_global=False, sample_resources=False))
service.enable().result(30)
service.track_event_sync("with_an_unreadable_secret")
flushed = service.flush(30)
service.shutdown(timeout=10)
print(json.dumps({"id": service.consent.anonymous_id, "flushed": flushed}), flush=True)
