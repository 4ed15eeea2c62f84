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
from telemetry.capture import TelemetryLogHandler
from telemetry.experiments import ExperimentConfigError, experiment
from telemetry.instrument import instrument_fastapi
from telemetry.instrument_http import instrument_http_clients
from telemetry.pending import Pending
from telemetry.service import PipelineStats, TelemetryService
from telemetry.settings import (
    CONSENT_POLICY_VERSION,
    TelemetrySettings,
    TelemetrySettingsError,
    TelemetrySettingsWarning,
)
from telemetry.timing import timed

if TYPE_CHECKING:
    from telemetry.events import to_attributes

__all__ = [
    "CONSENT_POLICY_VERSION",
    "ExperimentConfigError",
    "Pending",
    "PipelineStats",
    "TelemetryLogHandler",
    "TelemetryService",
    "TelemetrySettings",
    "TelemetrySettingsError",
    "TelemetrySettingsWarning",
    "configure",
    "experiment",
    "get_telemetry",
    "instrument_fastapi",
    "instrument_http_clients",
    "timed",
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
