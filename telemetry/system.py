"""System information as resource attributes, and process CPU and memory as observable gauges.

Only coarse, non-identifying facts: OS family and release, architecture, Python version, app version.
Never the host name, user name, IP address or machine id; the anonymizer scrubs resources as well, in
case ``OTEL_RESOURCE_ATTRIBUTES`` brings something in.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable

import psutil
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.resources import Resource

from exporters.eventlog import schema


def build_resource(app_name: str, app_version: str, session_id: str) -> Resource:
    return Resource.create(
        {
            "service.name": app_name,
            "service.version": app_version,
            "os.type": platform.system().lower(),
            "os.version": platform.release(),
            "host.arch": platform.machine(),
            "process.runtime.name": platform.python_implementation(),
            "process.runtime.version": platform.python_version(),
            schema.RESOURCE_SESSION_ID: session_id,
        }
    )


def register_resource_gauges(meter: Meter, is_enabled: Callable[[], bool]) -> None:
    """CPU and memory of this process, sampled each time the metric reader collects, only with consent."""
    process = psutil.Process()
    process.cpu_percent(None)  # the first reading primes the counter

    def cpu(_: CallbackOptions) -> Iterable[Observation]:
        if not is_enabled():
            return []
        return [Observation(process.cpu_percent(None) / 100.0)]

    def memory(_: CallbackOptions) -> Iterable[Observation]:
        if not is_enabled():
            return []
        return [Observation(process.memory_info().rss)]

    meter.create_observable_gauge("process.cpu.utilization", [cpu], unit="1", description="CPU share")
    meter.create_observable_gauge("process.memory.usage", [memory], unit="By", description="Resident memory")
