"""The event log in DuckDB (schema, writer, span and metric exporters) and the OTLP JSON export.
Nothing here imports ``telemetry`` or ``processors``: it stores what it is given."""
