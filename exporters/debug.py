"""Debug mode: show exactly what would be recorded, one compact JSON line per span, instead of storing it.

Put it where the DuckDB exporter would go (behind the anonymizer), so what it prints is what the event log
would hold: the lifted columns, the attributes after anonymization, the redaction counts. Like every
exporter here it never raises into the app; a broken stream fails the batch and is logged once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import orjson
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from exporters._failure_log import FailureLog
from exporters.eventlog.arrow import ResourceCache, spans_to_arrow

logger = logging.getLogger("exporters.debug")

_JSON_COLUMNS = ("attributes", "resource", "redactions", "links")


class StderrSpanExporter(SpanExporter):
    """Prints each span as one JSON line (the row the event log would store, with its events) to
    ``stream`` (default: ``sys.stderr`` at the time of export).

    Example::

        provider.add_span_processor(SimpleSpanProcessor(StderrSpanExporter()))
    """

    def __init__(self, stream: TextIO | None = None, *, include_resource: bool = False) -> None:
        self._stream = stream
        self._include_resource = include_resource
        self._resources = ResourceCache()
        self._failures = FailureLog(logger)
        self._shutdown = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        try:
            stream = self._stream if self._stream is not None else sys.stderr
            stream.write("".join(line + "\n" for line in self.lines(spans)))
            stream.flush()
        except Exception as exc:
            self._failures.record("print", "Printing spans failed (%s)", type(exc).__name__)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def lines(self, spans: Sequence[ReadableSpan]) -> list[str]:
        """The JSON lines ``export`` prints, built by the same conversion the event log uses."""
        span_table, event_table, resource_table = spans_to_arrow(spans, self._resources)
        resources = dict(
            zip(*(resource_table.column(c).to_pylist() for c in ("resource_id", "attributes")), strict=True)
        )
        events: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for event in event_table.to_pylist():
            events.setdefault((event["trace_id"], event["span_id"]), []).append(
                {
                    "name": event["name"],
                    "time_ns": event["time_ns"],
                    "attributes": orjson.loads(event["attributes"]),
                }
            )
        out = []
        for row in span_table.to_pylist():
            # The row as ``spans_with_resource`` reads it: the resource itself, not its id.
            row["resource"] = resources.get(row.pop("resource_id"))
            for column in _JSON_COLUMNS:
                if row[column] is not None:
                    row[column] = orjson.loads(row[column])
            if not self._include_resource:
                del row["resource"]
            row["events"] = events.get((row["trace_id"], row["span_id"]), [])
            out.append(orjson.dumps(row).decode())
        return out

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self._shutdown = True
