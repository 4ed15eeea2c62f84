"""The event log's schema: its one home.

Every table and column of the DuckDB event log is declared here. The writer, the analytics SQL and the
OTLP export read names from this module instead of repeating them, and migrations are numbered steps so
an old file is brought forward in place when it is opened.

Times are integer nanoseconds since the Unix epoch (what OpenTelemetry hands us, lossless and cheap to
compare); ``duration_ms`` is stored as well because every performance query wants it. Attribute maps are
JSON text: what analytics filter or group on (event type, category, session, metric name and value,
error type) lives in real columns, so no query has to parse JSON on every row.

A span's resource (OS, Python and app version, session: identical for every span of a process) is stored
once in ``resources`` and referenced by ``resource_id``: written on every row it would repeat the same few
hundred bytes (figures in bench/README.md). ``spans_with_resource`` is the view that joins it back.
"""

from __future__ import annotations

from typing import Final

SCHEMA_VERSION: Final = 2

SPANS: Final = "spans"
SPAN_EVENTS: Final = "span_events"
METRIC_POINTS: Final = "metric_points"
CONSENT_LEDGER: Final = "consent_ledger"
RESOURCES: Final = "resources"
#: View: every span column plus ``resource`` (the JSON attributes its ``resource_id`` names).
SPANS_WITH_RESOURCE: Final = "spans_with_resource"
SCHEMA_VERSION_TABLE: Final = "schema_version"

#: Tables holding recorded data, in the order erasure and export walk them.
DATA_TABLES: Final = (SPANS, SPAN_EVENTS, METRIC_POINTS, CONSENT_LEDGER, RESOURCES)

# Column order matters: the writer builds Arrow tables in exactly this order (inserts are BY NAME, so a
# migrated file's physical order may differ).
SPAN_COLUMNS: Final = (
    ("trace_id", "VARCHAR"),  # 32 lowercase hex characters
    ("span_id", "VARCHAR"),  # 16 lowercase hex characters
    ("parent_span_id", "VARCHAR"),  # NULL for a root span
    ("name", "VARCHAR"),
    ("kind", "VARCHAR"),  # INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER
    ("start_ns", "BIGINT"),
    ("end_ns", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("status_code", "VARCHAR"),  # UNSET, OK, ERROR
    ("status_message", "VARCHAR"),
    ("category", "VARCHAR"),  # event, error, performance, span, http
    ("event_type", "VARCHAR"),  # track_event's event_type, else the span name
    ("session_id", "VARCHAR"),
    ("error_type", "VARCHAR"),  # exception type for errors
    ("metric_name", "VARCHAR"),  # track_performance only
    ("metric_value", "DOUBLE"),
    ("metric_unit", "VARCHAR"),
    ("attributes", "JSON"),
    ("resource_id", "VARCHAR"),  # resources.resource_id
    ("scope_name", "VARCHAR"),
    ("scope_version", "VARCHAR"),
    ("redactions", "JSON"),  # {"rule_id": count} of what the anonymizer removed
    ("links", "JSON"),  # [{"trace_id","span_id","attributes"}]
    ("dropped_attributes", "INTEGER"),
)

#: One row per distinct resource: the first 16 hex digits of the MD5 of its JSON text (a name, not a
#: secret: the attributes are stored right beside it), and when a span first carried it.
RESOURCE_COLUMNS: Final = (
    ("resource_id", "VARCHAR"),
    ("first_seen_ns", "BIGINT"),
    ("attributes", "JSON"),
)

SPAN_EVENT_COLUMNS: Final = (
    ("trace_id", "VARCHAR"),
    ("span_id", "VARCHAR"),
    ("seq", "INTEGER"),  # position among the span's events
    ("name", "VARCHAR"),
    ("time_ns", "BIGINT"),
    ("attributes", "JSON"),
)

METRIC_POINT_COLUMNS: Final = (
    ("name", "VARCHAR"),
    ("description", "VARCHAR"),
    ("unit", "VARCHAR"),
    ("kind", "VARCHAR"),  # gauge, sum, histogram
    ("is_monotonic", "BOOLEAN"),
    ("temporality", "VARCHAR"),  # DELTA, CUMULATIVE, NULL for gauges
    ("start_ns", "BIGINT"),
    ("time_ns", "BIGINT"),
    ("value", "DOUBLE"),  # gauge and sum points
    ("count", "BIGINT"),  # histogram points
    ("sum", "DOUBLE"),
    ("min", "DOUBLE"),
    ("max", "DOUBLE"),
    ("bucket_counts", "BIGINT[]"),
    ("explicit_bounds", "DOUBLE[]"),
    ("attributes", "JSON"),
    ("resource", "JSON"),
    ("scope_name", "VARCHAR"),
    ("scope_version", "VARCHAR"),
    ("session_id", "VARCHAR"),
)

CONSENT_LEDGER_COLUMNS: Final = (
    ("time_ns", "BIGINT"),
    ("action", "VARCHAR"),  # granted, revoked
    ("policy_version", "VARCHAR"),
    ("anonymous_id", "VARCHAR"),
    ("source", "VARCHAR"),  # api, cli, server, env, delete_all
)

#: The schema-version table: one row per applied migration step (never a data table).
SCHEMA_VERSION_COLUMNS: Final = (
    ("version", "INTEGER"),
    ("applied_ns", "BIGINT"),
)

TABLES: Final = {
    SPANS: SPAN_COLUMNS,
    SPAN_EVENTS: SPAN_EVENT_COLUMNS,
    METRIC_POINTS: METRIC_POINT_COLUMNS,
    CONSENT_LEDGER: CONSENT_LEDGER_COLUMNS,
    RESOURCES: RESOURCE_COLUMNS,
}


def column_names(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in TABLES[table])


def _create_table(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    cols = ", ".join(f"{name} {sql_type}" for name, sql_type in columns)
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols})"


# Version 1 stored the resource JSON on every span row. Frozen: migrations replay it on a new file.
_V1_SPAN_COLUMNS: Final = tuple(
    ("resource", "JSON") if name == "resource_id" else (name, sql_type) for name, sql_type in SPAN_COLUMNS
)
_V1_TABLES: Final = {SPANS: _V1_SPAN_COLUMNS, SPAN_EVENTS: SPAN_EVENT_COLUMNS, METRIC_POINTS: METRIC_POINT_COLUMNS,
                     CONSENT_LEDGER: CONSENT_LEDGER_COLUMNS}  # fmt: skip
_RESOURCE_ID_SQL: Final = "left(md5(CAST(resource AS VARCHAR)), 16)"  # == hashlib.md5(text).hexdigest()[:16]

#: Migrations by the version they produce. Each step is a tuple of statements run in one transaction.
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {
    1: (
        # No ART indexes: they slow every append, and DuckDB's zone maps already prune by start_ns.
        *(_create_table(t, columns) for t, columns in _V1_TABLES.items()),
    ),
    # Identifiers in these statements are this module's constants, never input.
    2: (
        _create_table(RESOURCES, RESOURCE_COLUMNS),
        f"ALTER TABLE {SPANS} ADD COLUMN IF NOT EXISTS resource_id VARCHAR",
        f"INSERT INTO {RESOURCES} SELECT {_RESOURCE_ID_SQL}, min(start_ns), any_value(resource) FROM {SPANS} "  # noqa: S608
        f"WHERE resource IS NOT NULL GROUP BY ALL",
        f"UPDATE {SPANS} SET resource_id = {_RESOURCE_ID_SQL} WHERE resource IS NOT NULL",  # noqa: S608
        f"ALTER TABLE {SPANS} DROP COLUMN resource",
        # any_value per id: two writers may both have added a resource the other had not committed yet.
        f"CREATE OR REPLACE VIEW {SPANS_WITH_RESOURCE} AS SELECT s.*, r.attributes AS resource FROM {SPANS} s "  # noqa: S608
        f"LEFT JOIN (SELECT resource_id, any_value(attributes) AS attributes FROM {RESOURCES} GROUP BY ALL) r "
        f"USING (resource_id)",
    ),
}


# Span attributes the telemetry API sets and the writer lifts into real columns. They are ordinary OTel
# attributes, so a span from plain OTel code that sets them is stored exactly like a track_* call.
ATTR_CATEGORY: Final = "peft.category"  # event | error | performance
ATTR_EVENT_TYPE: Final = "peft.event_type"
ATTR_ERROR_TYPE: Final = "error.type"  # OTel semantic convention
ATTR_ERROR_CATEGORY: Final = "peft.error.category"
ATTR_METRIC_NAME: Final = "peft.metric.name"
ATTR_METRIC_VALUE: Final = "peft.metric.value"
ATTR_METRIC_UNIT: Final = "peft.metric.unit"
#: Set by the anonymizer: JSON object {rule_id: count}. Stored in its own column, never as an attribute.
ATTR_REDACTIONS: Final = "peft.redactions"
#: Resource attribute carrying the session id (OTel semantic convention ``session.id``).
RESOURCE_SESSION_ID: Final = "session.id"

# A/B experiments: ``telemetry.experiment()`` records one event of this type per session and experiment;
# the insights read these attributes of it (few rows: their JSON is parsed directly).
EXPOSURE_EVENT_TYPE: Final = "experiment_exposure"
ATTR_EXPERIMENT_NAME: Final = "experiment.name"
ATTR_EXPERIMENT_VARIANT: Final = "experiment.variant"
ATTR_EXPERIMENT_VARIANTS: Final = "experiment.variants"  # every variant, the control first
ATTR_EXPERIMENT_WEIGHTS: Final = "experiment.weights"  # their weights, normalized to sum 1
ATTR_EXPERIMENT_UNIT: Final = "experiment.unit"  # the install's anonymous id: one install is one unit
