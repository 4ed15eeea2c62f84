"""Helpers for testing code that uses telemetry, shipped to app developers (as logfire ships its own).

The pytest plugin (installed with the package) gives every test the ``captured_telemetry`` fixture::

    def test_training_is_tracked(captured_telemetry):
        start_training()                                 # app code: track_event_sync(...), OTel spans, ...
        assert "training_started" in captured_telemetry.event_types

Without pytest, :func:`capture_telemetry` does the same as a context manager, and
:func:`recording_service` gives a private service that only sees what is recorded through it:

>>> from telemetry.testing import recording_service, stored_events
>>> with recording_service(tmp_path) as service:
...     my_feature(service)          # calls service.track_event_sync(...)
...     assert [e["event_type"] for e in stored_events(service)] == ["feature_used"]
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from exporters.eventlog import schema
from telemetry import _otel_capture, api
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


@contextmanager
def recording_service(
    home: str | os.PathLike[str], *, enabled: bool = True, **overrides: Any
) -> Iterator[TelemetryService]:
    """A service on its own data home, consent given, not touching the OTel globals; shut down after."""
    options: dict[str, Any] = {
        "install_global": False,
        "sample_resources": False,
        "flush_interval_s": 0.05,
        "do_not_track": False,
    }
    options.update(overrides)
    service = TelemetryService(TelemetrySettings(home=Path(home), **options))
    try:
        if enabled:
            service.enable().result(10)
        yield service
    finally:
        service.shutdown(timeout=10)


def stored_events(service: TelemetryService, *, category: str | None = None) -> list[dict[str, Any]]:
    """Everything written to the event log so far (after a flush), oldest first, attributes decoded."""
    service.flush()
    sql = f"SELECT * FROM {schema.SPANS_WITH_RESOURCE}"
    params: list[Any] = []
    if category is not None:
        sql += " WHERE category = ?"
        params.append(category)
    sql += " ORDER BY start_ns, span_id"
    with service.event_log.reader() as con:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        for key in ("attributes", "resource", "redactions", "links"):
            if isinstance(record.get(key), str):
                record[key] = orjson.loads(record[key])
        out.append(record)
    return out


class CapturedTelemetry:
    """What the app recorded during one test, read back from the event log as stored (anonymized).

    >>> captured_telemetry.events[0]["event_type"]
    'training_started'
    """

    def __init__(self, service: TelemetryService) -> None:
        #: The captured service; ``get_telemetry()`` returns it while the capture lasts.
        self.service = service

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every stored span (events, errors, measurements, OTel spans), oldest first, after a flush."""
        return stored_events(self.service)

    @property
    def event_types(self) -> list[str]:
        """The stored ``event_type`` of every span, oldest first."""
        return [str(e["event_type"]) for e in self.events]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return stored_events(self.service, category="error")

    @property
    def measurements(self) -> list[dict[str, Any]]:
        return stored_events(self.service, category="performance")


@contextmanager
def capture_telemetry(home: str | os.PathLike[str], **overrides: Any) -> Iterator[CapturedTelemetry]:
    """Capture everything the app records by any road while the block runs, on a fresh data home.

    The module-level API (``track_event_sync``, ``get_telemetry()``) and spans from the OpenTelemetry API
    (``trace.get_tracer(...)``, also tracers obtained before the capture) go to a recording service with
    consent given. Afterwards the previous default service is back and OTel spans go nowhere new.
    Uncaught-exception hooks are left to the test runner (``capture_exceptions`` is off unless overridden).
    """
    overrides.setdefault("capture_exceptions", False)
    with recording_service(home, **overrides) as service:
        with api._lock:
            previous = (api._default, api._broken)
            api._default, api._broken = service, False
        previous_route = _otel_capture.route_to(service)
        try:
            yield CapturedTelemetry(service)
        finally:
            _otel_capture.route_to(previous_route)
            with api._lock:
                api._default, api._broken = previous
