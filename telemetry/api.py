"""Module-level API bound to one default service, as the spec's examples use it.

``get_telemetry()`` builds the service from the environment on first use (wrong configuration raises
there). The ``track_*`` functions never raise: if the default service cannot be built, they log once
and do nothing, because an app must not break over its telemetry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings, TelemetrySettingsError

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_default: TelemetryService | None = None
_broken = False


def get_telemetry() -> TelemetryService:
    """The process-wide service, built from ``TelemetrySettings()`` on first call."""
    global _default
    service = _default
    if service is not None:
        return service
    with _lock:
        if _default is None:
            _default = TelemetryService(TelemetrySettings())
        return _default


def configure(settings: TelemetrySettings | None = None) -> TelemetryService:
    """Build the default service with explicit settings, replacing (and shutting down) any previous one."""
    global _default, _broken
    with _lock:
        previous, _default, _broken = _default, TelemetryService(settings), False
    if previous is not None:
        previous.shutdown()
    return _default


class _Unavailable:
    """Stands in for a default service that could not be built: every call records nothing."""

    def track_event_sync(self, event_type: str, properties: Mapping[str, Any] | None = None) -> None:
        return None

    def track_error_sync(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
        return None

    def track_performance_sync(self, metric_name: str, value: float, unit: str = "ms") -> None:
        return None


_UNAVAILABLE = _Unavailable()


def _service() -> TelemetryService | _Unavailable:
    """The default service, built on first use; if it cannot be built, log once and record nothing.

    The one guard of the module-level ``track_*`` functions: they call ``(_default or _service())``.
    """
    global _broken
    service = _default
    if service is not None:
        return service
    if _broken:
        return _UNAVAILABLE
    try:
        return get_telemetry()
    except TelemetrySettingsError as exc:
        _broken = True
        _logger.error("telemetry: cannot start (%s); recording nothing", exc)
        return _UNAVAILABLE
    except Exception:
        _broken = True
        _logger.exception("telemetry: cannot start (check the PEFT_TELEMETRY_* settings); recording nothing")
        return _UNAVAILABLE


def track_event_sync(event_type: str, properties: Mapping[str, Any] | None = None) -> None:
    """Record an application event. About a microsecond; never blocks or raises.

    >>> track_event_sync("training_started", {"algorithm": "lora", "model_size": "7B"})
    """
    (_default or _service()).track_event_sync(event_type, properties)


def track_error_sync(exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
    """Record an exception (type, first message line, anonymized frames) with optional context."""
    (_default or _service()).track_error_sync(exc, context)


def track_performance_sync(metric_name: str, value: float, unit: str = "ms") -> None:
    """Record a measurement: ``track_performance_sync("api_response_time", 150.5, "ms")``."""
    (_default or _service()).track_performance_sync(metric_name, value, unit)


async def track_event(event_type: str, properties: Mapping[str, Any] | None = None) -> None:
    """Awaitable form of :func:`track_event_sync` (the spec's ``await track_event(...)``)."""
    track_event_sync(event_type, properties)


async def track_error(exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
    """Awaitable form of :func:`track_error_sync`."""
    track_error_sync(exc, context)


async def track_performance(metric_name: str, value: float, unit: str = "ms") -> None:
    """Awaitable form of :func:`track_performance_sync`."""
    track_performance_sync(metric_name, value, unit)
