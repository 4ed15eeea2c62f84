"""PEFT Studio telemetry: local-first, opt-in, anonymized usage analytics over OpenTelemetry.

>>> from telemetry import get_telemetry, track_event_sync
>>> get_telemetry().enable()
>>> track_event_sync("training_started", {"algorithm": "lora", "model_size": "7B"})

Importing this package loads no DuckDB, Arrow, analytics or web server, starts no thread and writes no
file: until the user opts in, telemetry costs next to nothing (see the README's Performance section).
"""

from typing import TYPE_CHECKING, Any

from telemetry.api import (
    configure,
    get_telemetry,
    track_error,
    track_error_sync,
    track_event,
    track_event_sync,
    track_performance,
    track_performance_sync,
)
from telemetry.service import PipelineStats, TelemetryService
from telemetry.settings import CONSENT_POLICY_VERSION, TelemetrySettings

if TYPE_CHECKING:
    from telemetry.events import to_attributes

__all__ = [
    "CONSENT_POLICY_VERSION",
    "PipelineStats",
    "TelemetryService",
    "TelemetrySettings",
    "configure",
    "get_telemetry",
    "to_attributes",
    "track_error",
    "track_error_sync",
    "track_event",
    "track_event_sync",
    "track_performance",
    "track_performance_sync",
]


def __getattr__(name: str) -> Any:
    # to_attributes lives beside the OTel SDK span builder, which the consent-off path never needs.
    if name == "to_attributes":
        from telemetry.events import to_attributes

        return to_attributes
    raise AttributeError(f"module 'telemetry' has no attribute {name!r}")
