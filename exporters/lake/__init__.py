"""The fleet lake: Parquet files of shared spans and metric points, partitioned by day, written by one or more hubs.

Public names::

    from exporters.lake import LakeWriter, LAKE_SCHEMA_VERSION, compact_day, delete_install, lake_files

Layout (hive-style, so DuckDB and Spark both read ``day`` as a column)::

    <lake>/_lake.json                                   schema version and columns (written once)
    <lake>/spans/day=2026-12-05/part-<hub>-<seq>.parquet  one file series per hub process
    <lake>/metrics/day=2026-12-05/part-<hub>-<seq>.parquet  metric points (lake schema 2), the same way
    <lake>/_deletions/<install_id>.json                 a confirmed deletion (the install's rows are gone)

Every file appears under its final name by ``rename`` after it was written in full, and deletion replaces a
file the same way, so a reader never sees half a file. Each hub names its files with its own random id, so
several hubs on several machines write one lake (a shared directory) without coordinating.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporters._lazy import lazy_exports

if TYPE_CHECKING:
    from .compaction import compact_day
    from .deletion import delete_install, deleted_installs
    from .schema import (
        INSTALL_ATTRIBUTE,
        LAKE_METRIC_COLUMNS,
        LAKE_METRICS_ARROW,
        LAKE_SCHEMA_VERSION,
        LAKE_SPAN_COLUMNS,
        LAKE_SPANS_ARROW,
        METRICS_DIR,
        lake_files,
        spans_glob,
    )
    from .writer import LakeWriter

# Imported on first use, not with the package (see exporters/_lazy.py for why).
_EXPORTS = {
    "compact_day": "compaction",
    "delete_install": "deletion",
    "deleted_installs": "deletion",
    "INSTALL_ATTRIBUTE": "schema",
    "LAKE_METRIC_COLUMNS": "schema",
    "LAKE_METRICS_ARROW": "schema",
    "LAKE_SCHEMA_VERSION": "schema",
    "LAKE_SPAN_COLUMNS": "schema",
    "LAKE_SPANS_ARROW": "schema",
    "METRICS_DIR": "schema",
    "lake_files": "schema",
    "spans_glob": "schema",
    "LakeWriter": "writer",
}
__all__ = [
    "INSTALL_ATTRIBUTE",
    "LAKE_METRICS_ARROW",
    "LAKE_METRIC_COLUMNS",
    "LAKE_SCHEMA_VERSION",
    "LAKE_SPANS_ARROW",
    "LAKE_SPAN_COLUMNS",
    "METRICS_DIR",
    "LakeWriter",
    "compact_day",
    "delete_install",
    "deleted_installs",
    "lake_files",
    "spans_glob",
]
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
