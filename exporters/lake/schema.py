"""The lake's schema: its one home, versioned like the event log's.

Version 1 (``spans`` only). A lake row is an event log ``spans`` row as the hub re-anonymized it, plus:

* ``share_id``: the stable id of a shared span, ``md5(install_id:trace_id:span_id)``. A sender that retries a
  batch (after a timeout, a kill -9, a hub crash) sends the same spans again; readers keep one row per
  ``share_id`` (:data:`DEDUPED_SPANS_SQL`), so a retry never counts twice.
* ``install_id``: SHA-256 (hex) of the sharing install's deletion key. Only the holder of the key can ask
  for the rows to be deleted; the hash alone does not allow it. NULL for senders that are not installs.
* ``resource`` (JSON text), ``app_version`` and ``os_type`` lifted from it for the fleet view.
* ``received_ns`` and ``hub_id``: when and by which hub process the row was written.

The ``day`` partition column (``YYYY-MM-DD`` of ``start_ns``, UTC) lives in the directory name. JSON
columns are plain strings in Parquet, which every engine reads. A new version adds columns only; readers
use ``union_by_name`` so files of older versions stay readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pyarrow as pa

LAKE_SCHEMA_VERSION: Final = 1
#: Resource attribute by which a sharing install names itself: SHA-256 hex of its deletion key. The hub
#: takes it out of the resource and stores it as ``install_id``.
INSTALL_ATTRIBUTE: Final = "peft.share.install_id"
SPANS_DIR: Final = "spans"
META_FILE: Final = "_lake.json"
DELETIONS_DIR: Final = "_deletions"
PARTITION: Final = "day"

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

_ARROW: Final = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64()}
LAKE_SPANS_ARROW: Final = pa.schema([(name, _ARROW[sql]) for name, sql in LAKE_SPAN_COLUMNS])


def lake_files(lake: Path) -> list[Path]:
    """Every published span file of the lake (temporary files start with a dot and are never listed)."""
    root = Path(lake) / SPANS_DIR
    return sorted(p for p in root.glob(f"{PARTITION}=*/*.parquet") if not p.name.startswith("."))


def spans_glob(lake: Path) -> str:
    """The glob DuckDB and Spark read the span files with."""
    return str(Path(lake).absolute() / SPANS_DIR / f"{PARTITION}=*" / "*.parquet")


#: One row per shared span: retried batches may have stored a span twice (``{source}`` is the raw files,
#: ``{columns}`` what the reader needs; fewer columns make the deduplication's shuffle smaller).
DEDUPED_SPANS_SQL: Final = (
    "SELECT {columns} FROM (SELECT {columns}, row_number() OVER (PARTITION BY share_id "
    "ORDER BY received_ns, hub_id) AS copy_no FROM {source}) numbered WHERE copy_no = 1"
)
