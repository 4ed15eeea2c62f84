"""The lake's schema: its one home, versioned like the event log's.

Version 1: ``spans`` only. Version 2 adds ``metrics`` (one row per metric data point, below); the spans
columns did not change, and a version-1 lake is read as one without points.

``spans``: A lake row is an event log ``spans`` row as the hub re-anonymized it, plus:

* ``share_id``: the stable id of a shared span, ``md5(install_id:trace_id:span_id)``. A sender that retries a
  batch (after a timeout, a kill -9, a hub crash) sends the same spans again; readers keep one row per
  ``share_id`` (:func:`deduped_sql`), so a retry never counts twice. A copy always lands in the same ``day``
  (the id and the time are the sender's), so a day compaction rewrote into one file holds one row per id and
  readers take its rows as they are (:func:`compacted_days`); every other day is deduplicated.
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
ids and readers keep one row per id (:func:`deduped_sql` serves both kinds); two distinct points
collide only if they share every one of those fields, which OpenTelemetry's SDK never emits. Partitioned
by the day of ``time_ns``.

The ``day`` partition column (``YYYY-MM-DD`` of ``start_ns`` for spans, ``time_ns`` for points, UTC) lives
in the directory name. JSON
columns are plain strings in Parquet, which every engine reads. A new version adds columns only; readers
use ``union_by_name`` so files of older versions stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final, NamedTuple

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
#: deduplication's shuffle smaller). The whole cost of a report over a large lake: :func:`deduped_sql` runs it
#: only over the days compaction has not deduplicated already.
DEDUPED_SPANS_SQL: Final = (
    "SELECT {columns} FROM (SELECT {columns}, row_number() OVER (PARTITION BY share_id "
    "ORDER BY received_ns, hub_id) AS copy_no FROM {source}) numbered WHERE copy_no = 1"
)
#: A ``day`` value that may go into SQL text (folder names are checked against it, never trusted).
_DAY: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class CompactedDays(NamedTuple):
    """What one listing of a kind's files says about deduplication (see :func:`compacted_days`)."""

    #: Days whose only published file is a compacted one (``YYYY-MM-DD``, sorted): one row per ``share_id``.
    days: tuple[str, ...] = ()
    #: Whether some other day has files: those rows still need the deduplication.
    rest: bool = True


#: No day compacted: the deduplication runs over every row (what a reader assumes without a listing).
NOTHING_COMPACTED: Final = CompactedDays()


def compacted_days(lake: Path, kind: str = SPANS_DIR, files: Iterable[Path | str] | None = None) -> CompactedDays:
    """The days of ``kind`` a reader may take as they are, from ``files`` (one listing of the lake, by
    default :func:`lake_files`; a reader passes the listing it reads, so both agree).

    A day counts only if its ONE published file is a compacted one: a hub file published after the
    compaction (it may repeat ids of the compacted file), or two compactions that raced, put the day back
    under the deduplication. A folder whose name is not ``day=YYYY-MM-DD`` is never counted.

    Example::

        compacted_days(Path("/srv/lake"))  # CompactedDays(days=('2026-12-03', '2026-12-04'), rest=True)
    """
    listing = lake_files(lake, kind) if files is None else [Path(f) for f in files]
    names: dict[str, list[str]] = {}
    for path in listing:
        names.setdefault(path.parent.name, []).append(path.name)
    prefix = f"{PARTITION}="
    days = sorted(
        folder.removeprefix(prefix)
        for folder, in_day in names.items()
        if folder.startswith(prefix)
        and _DAY.fullmatch(folder.removeprefix(prefix))
        and len(in_day) == 1
        and in_day[0].startswith(COMPACTED_PREFIX)
    )
    return CompactedDays(tuple(days), rest=len(days) < len(names))


def deduped_sql(source: str, columns: str, compacted: CompactedDays = NOTHING_COMPACTED) -> str:
    """One row per ``share_id`` of ``source`` (a table expression with a ``day`` column), ``columns`` selected:
    the rows of compacted days as they are, and :data:`DEDUPED_SPANS_SQL` over those of every other day. The
    ``day`` predicates let DuckDB and Spark prune whole partitions.

    Example::

        deduped_sql("lake_raw", "install_id, day", compacted_days(lake))
        # SELECT install_id, day FROM lake_raw WHERE day IN ('2026-12-04') UNION ALL SELECT ... row_number() ...
    """
    if not compacted.days:  # nothing compacted, or an empty lake: the deduplication over everything
        return DEDUPED_SPANS_SQL.format(source=source, columns=columns)
    if not all(_DAY.fullmatch(day) for day in compacted.days):
        raise ValueError("compacted days must be YYYY-MM-DD")
    days = ", ".join(f"'{day}'" for day in compacted.days)  # checked digits and dashes only
    as_they_are = f"SELECT {columns} FROM {source} WHERE day IN ({days})"  # noqa: S608 (checked days)
    if not compacted.rest:
        return as_they_are
    rest = f"(SELECT * FROM {source} WHERE day NOT IN ({days})) uncompacted"  # noqa: S608 (checked days)
    return f"{as_they_are} UNION ALL {DEDUPED_SPANS_SQL.format(source=rest, columns=columns)}"
