"""Everything in the event log as OTLP/JSON Lines: the format of OpenTelemetry's file exporter.

Each line is one ``ExportTraceServiceRequest`` (at most ``batch_size`` spans, grouped by resource and scope),
followed by ``ExportMetricsServiceRequest`` lines. The encoding follows the OTLP/JSON mapping, which is
*not* protobuf's canonical JSON: trace and span ids are lowercase hex (protobuf would write base64),
enums are integers, 64-bit integers are strings, field names are lowerCamelCase, and default values may be
omitted. No ``NaN`` or ``Infinity`` can appear: the writer stores non-finite numbers as NULL, and here a
non-finite attribute value or point value is left out.

Speed and memory. Dicts are built by hand and serialized with orjson (``_otlp_encode``): several
times faster than upstream's encoder or ``MessageToJson`` (bench/README.md). Rows are
read in chunks by keyset pagination on the time column (``_otlp_read``), each chunk under its own short
``reader()`` hold, so the export never holds everything in memory and never keeps writers (other threads
or processes) out for longer than one chunk, however slow ``out`` is. Spans are exported in ``start_ns``
order, metric points in ``time_ns`` order; rows written while the export runs are included up to the
newest time seen when it started.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import orjson
from pydantic import BaseModel

from exporters._otlp_encode import SPAN_FIELDS, Encoder, metric_lines, span_lines
from exporters._otlp_read import POINTS_BY_TIME, SPANS_BY_START, chunks, columns, events_fetcher
from exporters.eventlog import EventLog, schema

__all__ = ["ExportSummary", "write_otlp_json"]

#: Rows read per hold of the event log (at least one line's worth).
_CHUNK_MIN_ROWS = 4096


class ExportSummary(BaseModel):
    """What ``write_otlp_json`` wrote."""

    spans: int = 0
    span_events: int = 0
    metric_points: int = 0
    lines: int = 0
    bytes_written: int = 0


def write_otlp_json(
    log: EventLog,
    out: BinaryIO,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    batch_size: int = 512,
) -> ExportSummary:
    """Write spans with ``start_ns`` and metric points with ``time_ns`` in ``[start_ns, end_ns)`` to
    ``out`` as OTLP/JSON Lines, at most ``batch_size`` spans or points per line. Raises
    ``EventLogError`` when the log cannot be read, ``OSError`` when ``out`` cannot be written,
    ``ValueError`` for a bad ``batch_size``.

    Example::

        with open("telemetry.otlp.jsonl", "wb") as f:
            summary = write_otlp_json(log, f)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError("batch_size must be a positive integer")
    summary = ExportSummary()
    rows = max(batch_size, _CHUNK_MIN_ROWS)
    encoder = Encoder()

    def emit(request: dict[str, Any]) -> None:
        line = orjson.dumps(request)
        out.write(line)
        out.write(b"\n")
        summary.lines += 1
        summary.bytes_written += len(line) + 1

    fetch_events = events_fetcher(log)
    for table, events in chunks(log, SPANS_BY_START, start_ns, end_ns, rows, fetch_events):
        for request, n_spans, n_events in span_lines(columns(table, SPAN_FIELDS), events, batch_size, encoder):
            emit(request)
            summary.spans += n_spans
            summary.span_events += n_events

    names = list(schema.column_names(schema.METRIC_POINTS))
    for table, _ in chunks(log, POINTS_BY_TIME, start_ns, end_ns, rows):
        for request, n_points in metric_lines(names, columns(table, names), batch_size, encoder):
            emit(request)
            summary.metric_points += n_points
    return summary
