"""PEFT Studio telemetry: local-first, opt-in, anonymized usage analytics over OpenTelemetry.

>>> from telemetry import get_telemetry, track_event_sync
>>> get_telemetry().enable()
>>> track_event_sync("training_started", {"algorithm": "lora", "model_size": "7B"})
"""

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
from telemetry.events import to_attributes
from telemetry.experiments import ExperimentConfigError, experiment
from telemetry.service import PipelineStats, TelemetryService
from telemetry.settings import CONSENT_POLICY_VERSION, TelemetrySettings

__all__ = [
    "CONSENT_POLICY_VERSION",
    "ExperimentConfigError",
    "PipelineStats",
    "TelemetryService",
    "TelemetrySettings",
    "configure",
    "experiment",
    "get_telemetry",
    "to_attributes",
    "track_error",
    "track_error_sync",
    "track_event",
    "track_event_sync",
    "track_performance",
    "track_performance_sync",
]
