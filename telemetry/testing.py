"""Helpers for testing code that uses telemetry, shipped to app developers (as logfire ships its own).

>>> from telemetry.testing import recording_service, stored_events
>>> with recording_service(tmp_path) as service:
...     my_feature(service)          # calls service.track_event_sync(...)
...     assert [e["event_type"] for e in stored_events(service)] == ["feature_used"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from exporters.eventlog import schema
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings


@contextmanager
def recording_service(home: Path, *, enabled: bool = True, **overrides: Any) -> Iterator[TelemetryService]:
    """A service on its own data home, consent given, not touching the OTel globals; shut down after."""
    options: dict[str, Any] = {
        "install_global": False,
        "sample_resources": False,
        "flush_interval_s": 0.05,
        "do_not_track": False,
    }
    options.update(overrides)
    service = TelemetryService(TelemetrySettings(home=home, **options))
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
