"""A synthetic fleet lake of N span rows, built by DuckDB in one ``COPY`` (no Python row objects), so that
100M events take minutes, not hours.

Distributions (deterministic: every draw is a hash of the row number):

* installs: ``INSTALLS`` (default 20,000) with a skewed activity (install ``floor(u**2 * INSTALLS)``: a few
  heavy users, a long tail), three sessions a day at most, each with one app version (5, newest most
  common), OS (linux 55 %, windows 30 %, darwin 15 %) and resource JSON;
* 30 days (weekends half as busy), uniform within a day; event types: api_call 35 % (an
  ``api_response_time`` ms metric), model_loaded 20 %,
  training_started 15 %, training_completed 13 %, step_time 10 % (performance), feature_used 2 %,
  errors 5 % over three exception types;
* ids as a hub writes them: 32-hex ``share_id`` (MD5), 32-hex trace id, 16-hex span id, a small attributes
  JSON per row.

Files follow the lake's conventions (zstd, written under a dot-name and renamed into place, so a reader never
sees half a file), in the state a lake is in most of the time: every past day compacted (one
``part-compacted-<n>.parquet``, one row per share id), the newest day live: ``LIVE_FILES`` files
``part-bench-<n>.parquet`` in which 0.2 % of rows repeat the previous row's share id, as retried batches do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

INSTALLS = 20_000
DAYS = 30
START_NS = 1_789_948_800 * 10**9  # a UTC midnight: 30 day partitions
LIVE_FILES = 8  # files of the newest day, not compacted yet

_INSTALLS_SQL = """
CREATE TEMP TABLE installs AS
SELECT i AS idx, sha256('install-' || i) AS install_id,
       ['1.4.0', '1.3.2', '1.3.1', '1.2.0', '1.1.0'][1 + CAST(floor(pow((hash(i) % 1000) / 1000.0, 2) * 5) AS INT)]
           AS app_version,
       CASE WHEN hash(i * 7) % 100 < 55 THEN 'linux' WHEN hash(i * 7) % 100 < 85 THEN 'windows' ELSE 'darwin' END
           AS os_type
FROM range({installs}) t(i)
"""

# u1..u4: independent uniform draws in [0, 1) from the row number.
_ROWS_SQL = """
WITH draws AS (
    SELECT i, (hash(i) % 1000003) / 1000003.0 AS u1, (hash(i + 1000000000000) % 1000003) / 1000003.0 AS u2,
           (hash(i + 2000000000000) % 1000003) / 1000003.0 AS u3,
           CAST(hash(i + 3000000000000) % 100000 AS BIGINT) AS h4
    FROM range({first}, {stop}) t(i)
), typed AS (
    SELECT *, CAST(floor(u1 * u1 * {installs}) AS BIGINT) AS install_idx,
           {day_ns} + CAST(floor(u2 * 86400e9) AS BIGINT) AS start_ns,
           CASE WHEN u3 < 0.35 THEN 'api_call' WHEN u3 < 0.55 THEN 'model_loaded'
                WHEN u3 < 0.70 THEN 'training_started' WHEN u3 < 0.83 THEN 'training_completed'
                WHEN u3 < 0.93 THEN 'step_time' WHEN u3 < 0.95 THEN 'feature_used' ELSE 'error' END AS kind
    FROM draws
)
SELECT md5(CAST(CASE WHEN {retried} AND i % 500 = 1 THEN i - 1 ELSE i END AS VARCHAR)) AS share_id,
       n.install_id, md5('t' || (i // 4)) AS trace_id, left(md5('s' || i), 16) AS span_id,
       CAST(NULL AS VARCHAR) AS parent_span_id,
       CASE WHEN kind = 'error' THEN 'error' ELSE kind END AS name, 'INTERNAL' AS kind,
       start_ns, start_ns + h4 * 10000 AS end_ns, h4 / 100.0 AS duration_ms,
       CASE WHEN kind = 'error' THEN 'ERROR' ELSE 'UNSET' END AS status_code,
       CAST(NULL AS VARCHAR) AS status_message,
       CASE WHEN kind = 'error' THEN 'error' WHEN kind = 'step_time' THEN 'performance' ELSE 'event' END
           AS category,
       CASE WHEN kind = 'error' THEN 'error' ELSE kind END AS event_type,
       md5('session' || n.idx || '-' || (start_ns // 28800000000000)) AS session_id,
       CASE WHEN kind <> 'error' THEN NULL WHEN h4 % 3 = 0 THEN 'OutOfMemoryError'
            WHEN h4 % 3 = 1 THEN 'ValueError' ELSE 'ConnectionError' END AS error_type,
       CASE kind WHEN 'api_call' THEN 'api_response_time' WHEN 'step_time' THEN 'step_time' END AS metric_name,
       CASE WHEN kind IN ('api_call', 'step_time') THEN h4 / 10.0 END AS metric_value,
       CASE WHEN kind IN ('api_call', 'step_time') THEN 'ms' END AS metric_unit,
       '{{"algorithm":"' || ['lora', 'qlora', 'ia3', 'prefix'][1 + h4 % 4] || '","dataset_rows":' || h4
           || ',"gpu":"' || ['A100', 'H100', 'RTX4090'][1 + h4 % 3] || '"}}' AS attributes,
       '{{"service.name":"peft-studio","service.version":"' || n.app_version || '","os.type":"' || n.os_type
           || '"}}' AS resource,
       'peft_studio.telemetry' AS scope_name, n.app_version AS scope_version, CAST(NULL AS VARCHAR) AS redactions,
       n.app_version, n.os_type, start_ns + 5000000000 AS received_ns, 'bench' AS hub_id
FROM typed JOIN installs n ON n.idx = typed.install_idx
"""


def day_counts(events: int, days: int = DAYS) -> list[int]:
    """Events per day: weekends half as busy as weekdays, ``events`` in all."""
    weights = [0.5 if day % 7 in (5, 6) else 1.0 for day in range(days)]
    counts = [int(events * w / sum(weights)) for w in weights]
    counts[0] += events - sum(counts)
    return counts


def build_lake(lake: Path, events: int, *, installs: int = INSTALLS, threads: int = 2, memory: str = "2GB") -> Path:
    """Write a lake of ``events`` span rows at ``lake`` (created; must not hold spans yet); returns it. One
    ``COPY`` per day of the rows of that day (row numbers are split by day), so nothing is computed twice
    and nothing spills: memory stays flat at any size."""
    import duckdb

    from exporters.lake import LakeWriter
    from exporters.lake.schema import COMPACTED_PREFIX, PARTITION, SPANS_DIR
    from exporters.lake.writer import day_of

    LakeWriter(lake, fsync=False)  # _lake.json and the folders, as a hub leaves them
    con = duckdb.connect(config={"threads": threads, "memory_limit": memory})
    try:
        con.execute(_INSTALLS_SQL.format(installs=installs))
        first = 0
        for day, count in enumerate(day_counts(events)):
            day_ns = START_NS + day * 86_400 * 10**9
            folder = lake / SPANS_DIR / f"{PARTITION}={day_of(day_ns)}"
            folder.mkdir(parents=True, exist_ok=True)
            live = day == DAYS - 1
            pieces = LIVE_FILES if live else 1
            for piece in range(pieces):
                start, stop = first + count * piece // pieces, first + count * (piece + 1) // pieces
                rows = _ROWS_SQL.format(first=start, stop=stop, installs=installs, day_ns=day_ns, retried=live)
                name = f"part-bench-{piece:09d}.parquet" if live else f"{COMPACTED_PREFIX}{day:016x}.parquet"
                _copy(con, rows, folder / name)
            first += count
    finally:
        con.close()
    return lake


def _copy(con: duckdb.DuckDBPyConnection, rows: str, target: Path) -> None:
    temp = target.with_name(f".{target.name}.tmp")
    con.execute(f"COPY ({rows}) TO '{temp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
    os.replace(temp, target)  # the whole file appears at once under its final name
