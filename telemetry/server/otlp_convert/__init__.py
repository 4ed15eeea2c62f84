"""OTLP messages (protobuf, or OTLP JSON) into the SDK's own objects, so received data takes our pipeline.

A received span becomes a ``ReadableSpan`` with its resource and instrumentation scope, exactly what the
SDK hands a span processor (:mod:`.traces`); received metrics become ``MetricsData``, what a metric reader
hands an exporter (:mod:`.metrics`). From there they pass the same consent gate, anonymizer and event log
as local data. Parsing, limits and the per-item rejection both share live in :mod:`.common`.
"""

from telemetry.server.otlp_convert.common import Converted, Invalid, otlp_json_to_proto, parse_protobuf
from telemetry.server.otlp_convert.metrics import convert_metrics
from telemetry.server.otlp_convert.traces import convert_traces

__all__ = ["Converted", "Invalid", "convert_metrics", "convert_traces", "otlp_json_to_proto", "parse_protobuf"]
