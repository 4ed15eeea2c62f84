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

from importlib import import_module
from typing import TYPE_CHECKING, Any

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

# Names load on first use (PEP 562), not when the package is imported. A package whose __init__ imports its
# own modules can deadlock Python 3.11's import locks when two threads import it and one of its modules at once
# (the pipeline built on the telemetry thread, the app importing ours); Python then hands one of them a
# partly initialized module and an ImportError. tests/test_architecture.py keeps package files import-free.
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
