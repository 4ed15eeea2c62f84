"""The lake's schema: its one home, versioned like the event log's.

Version 1: ``spans`` only. Version 2 adds ``metrics`` (one row per metric data point, below); the spans
columns did not change, and a version-1 lake is read as one without points.

``spans``: A lake row is an event log ``spans`` row as the hub re-anonymized it, plus:

* ``share_id``: the stable id of a shared span, ``md5(install_id:trace_id:span_id)``. A sender that retries a
  batch (after a timeout, a kill -9, a hub crash) sends the same spans again; readers keep one row per
  ``share_id`` (:data:`DEDUPED_SPANS_SQL`), so a retry never counts twice.
* ``install_id``: SHA-256 (hex) of the sharing install's deletion key. Only the holder of the key can ask
  for the rows to be deleted; the hash alone does not allow it. NULL for senders that are not installs.
* ``resource`` (JSON text), ``app_version`` and ``os_type`` lifted from it for the fleet view.
* ``received_ns`` and ``hub_id``: when and by which hub process the row was written.

``metrics`` (version 2): an event log ``metric_points`` row as the hub re-anonymized it (name, unit,
description, attribute keys and values, resource and scope all pass the anonymizer again), plus
``install_id``, ``app_version``, ``os_type``, ``received_ns`` and ``hub_id`` as for spans, and ``share_id``:
``md5`` of ``install_id``, name, unit, kind, temporality, ``start_ns``, ``time_ns``, scope, session and the
attributes JSON, all as stored (i.e. after anonymization: the id never hashes raw personal data). A point
is one instrument's value for one attribute set at one collection time, so a resent batch yields the same
ids and readers keep one row per id (:data:`DEDUPED_SPANS_SQL` works for both kinds); two distinct points
collide only if they share every one of those fields, which OpenTelemetry's SDK never emits. Partitioned
by the day of ``time_ns``.

The ``day`` partition column (``YYYY-MM-DD`` of ``start_ns`` for spans, ``time_ns`` for points, UTC) lives
in the directory name. JSON
columns are plain strings in Parquet, which every engine reads. A new version adds columns only; readers
use ``union_by_name`` so files of older versions stay readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pyarrow as pa

from exporters.eventlog.schema import METRIC_POINT_COLUMNS

LAKE_SCHEMA_VERSION: Final = 2
#: Resource attribute by which a sharing install names itself: SHA-256 hex of its deletion key. The hub
#: takes it out of the resource and stores it as ``install_id``.
INSTALL_ATTRIBUTE: Final = "peft.share.install_id"
SPANS_DIR: Final = "spans"
METRICS_DIR: Final = "metrics"
META_FILE: Final = "_lake.json"
DELETIONS_DIR: Final = "_deletions"
PARTITION: Final = "day"
#: A file compaction wrote: the only file of its day, it holds one row per ``share_id`` (readers skip the
#: deduplication for such days).
COMPACTED_PREFIX: Final = "part-compacted-"

LAKE_SPAN_COLUMNS: Final = (
    ("share_id", "VARCHAR"),
    ("install_id", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("span_id", "VARCHAR"),
    ("parent_span_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("start_ns", "BIGINT"),
    ("end_ns", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("status_code", "VARCHAR"),
    ("status_message", "VARCHAR"),
    ("category", "VARCHAR"),
    ("event_type", "VARCHAR"),
    ("session_id", "VARCHAR"),
    ("error_type", "VARCHAR"),
    ("metric_name", "VARCHAR"),
    ("metric_value", "DOUBLE"),
    ("metric_unit", "VARCHAR"),
    ("attributes", "VARCHAR"),  # JSON text
    ("resource", "VARCHAR"),  # JSON text
    ("scope_name", "VARCHAR"),
    ("scope_version", "VARCHAR"),
    ("redactions", "VARCHAR"),  # JSON text {rule_id: count}
    ("app_version", "VARCHAR"),
    ("os_type", "VARCHAR"),
    ("received_ns", "BIGINT"),
    ("hub_id", "VARCHAR"),
)

#: Version 2: one row per metric data point: the event log's ``METRIC_POINT_COLUMNS`` (derived, so the two
#: never drift apart; JSON as text, which every engine reads) between the hub's columns.
LAKE_METRIC_COLUMNS: Final = (
    ("share_id", "VARCHAR"),
    ("install_id", "VARCHAR"),
    *((name, "VARCHAR" if sql == "JSON" else sql) for name, sql in METRIC_POINT_COLUMNS),
    ("app_version", "VARCHAR"),
    ("os_type", "VARCHAR"),
    ("received_ns", "BIGINT"),
    ("hub_id", "VARCHAR"),
)

_ARROW: Final = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "BIGINT[]": pa.list_(pa.int64()),
    "DOUBLE[]": pa.list_(pa.float64()),
}
LAKE_SPANS_ARROW: Final = pa.schema([(name, _ARROW[sql]) for name, sql in LAKE_SPAN_COLUMNS])
LAKE_METRICS_ARROW: Final = pa.schema([(name, _ARROW[sql]) for name, sql in LAKE_METRIC_COLUMNS])
#: Per kind of row: its directory, columns, Arrow schema and the time column its ``day`` comes from.
LAKE_KINDS: Final = {
    SPANS_DIR: (LAKE_SPAN_COLUMNS, LAKE_SPANS_ARROW, "start_ns"),
    METRICS_DIR: (LAKE_METRIC_COLUMNS, LAKE_METRICS_ARROW, "time_ns"),
}


def lake_files(lake: Path, kind: str = SPANS_DIR) -> list[Path]:
    """Every published file of one kind (``spans`` or ``metrics``); temporary files start with a dot and
    are never listed. A version-1 lake has no ``metrics`` folder: no files."""
    root = Path(lake) / kind
    return sorted(p for p in root.glob(f"{PARTITION}=*/*.parquet") if not p.name.startswith("."))


def all_lake_files(lake: Path) -> list[Path]:
    """Every published data file, spans and metric points (what a deletion must walk)."""
    return [path for kind in LAKE_KINDS for path in lake_files(lake, kind)]


def spans_glob(lake: Path, kind: str = SPANS_DIR) -> str:
    """The glob DuckDB and Spark read one kind's files with (``spans`` by default)."""
    return str(Path(lake).absolute() / kind / f"{PARTITION}=*" / "*.parquet")


#: One row per shared span (or point: the statement serves ``metrics`` too): retried batches may have stored
#: a row twice (``{source}`` is the raw files, ``{columns}`` what the reader needs; fewer columns make the
#: deduplication's shuffle smaller).
DEDUPED_SPANS_SQL: Final = (
    "SELECT {columns} FROM (SELECT {columns}, row_number() OVER (PARTITION BY share_id "
    "ORDER BY received_ns, hub_id) AS copy_no FROM {source}) numbered WHERE copy_no = 1"
)
