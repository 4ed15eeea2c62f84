"""Readers skip the share_id deduplication on days compaction already deduplicated, and only there.

One lake (spans and metric points) with every state a day can be in: compacted after a retried batch, a
compacted file plus a later hub file repeating some of its ids, two uncompacted files with repeats, and one
uncompacted file holding a repeat. Its reports must equal those of a twin lake holding each row once (read
through the plain deduplication), on DuckDB, the dashboard and Spark local; and the engines' SQL must show
the compacted days are read without the window.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from _insights_lake import DAY, MONDAY, NS, install_rows
from _spark_cluster import SMALL

from analytics.fleet.dashboard import fleet_analytics
from analytics.fleet.duckdb_engine import DuckDBLake
from analytics.fleet.insights import fleet_insights, lake_view_sql
from analytics.fleet.reports import compute
from analytics.fleet.spark_engine import SparkLake
from exporters.lake import LAKE_METRICS_ARROW, LAKE_SPANS_ARROW, METRICS_DIR, LakeWriter, compact_day, lake_files
from exporters.lake.schema import COMPACTED_PREFIX, SPANS_DIR, CompactedDays, compacted_days, deduped_sql
from exporters.lake.writer import day_of

INSTALLS = 16
Row = dict[str, Any]


def _points(i: int) -> list[Row]:
    """Gauge points of install ``i``: one per six hours over the four weeks of ``install_rows``."""
    install_id = hashlib.sha256(f"install-{i}".encode()).hexdigest()
    return [
        {"share_id": hashlib.md5(f"{install_id}:{t}".encode()).hexdigest(), "install_id": install_id,
         "name": "gpu_memory", "unit": "MiB", "kind": "gauge", "time_ns": t, "start_ns": MONDAY, "value": 1.5 * (t % 7),
         "attributes": "{}", "app_version": "1.0.0", "received_ns": t + NS, "hub_id": "hub-a"}
        for t in range(MONDAY + i * NS, MONDAY + 28 * DAY, 6 * 3600 * NS)
    ]  # fmt: skip


def _retried(rows: list[Row]) -> list[Row]:
    """Every third row again, as a retried batch stores it: later, by another hub."""
    return [{**row, "received_ns": row["received_ns"] + NS, "hub_id": "hub-b"} for row in rows[::3]]


def _write_states(lake: Path, kind: str, rows: list[Row]) -> dict[int, set[str]]:
    """Writes ``rows`` (each once) into ``lake`` with days in the four states, by day number modulo 4:
    0 compacted, 1 compacted then a hub file repeating ids, 2 two files with repeats, 3 one file with a
    repeat. Returns the days (``YYYY-MM-DD``) of each state."""
    arrow, time_column = {SPANS_DIR: (LAKE_SPANS_ARROW, "start_ns"), METRICS_DIR: (LAKE_METRICS_ARROW, "time_ns")}[kind]

    def write(batch: list[Row]) -> None:
        writer = LakeWriter(lake)
        (writer.write if kind == SPANS_DIR else writer.write_metrics)(pa.Table.from_pylist(batch, arrow))

    by_state: dict[int, list[Row]] = {s: [r for r in rows if r[time_column] // DAY % 4 == s] for s in range(4)}
    days = {s: {day_of(r[time_column]) for r in part} for s, part in by_state.items()}
    for state in (0, 1, 2):
        part = by_state[state]
        write(part[: len(part) // 2])
        write(part[len(part) // 2 :])
        write(_retried(part))
    for day in days[0] | days[1]:
        compact_day(lake, day, kind=kind)
    write(_retried(by_state[1])[::2])  # after the compaction: repeats of the compacted file's ids
    write(by_state[3] + _retried(by_state[3]))  # one file per day, repeats inside it
    return days


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[int, set[str]]]:
    """(the lake in every state, its twin holding each row once in one uncompacted file per day, days by state)."""
    spans = [row for i in range(INSTALLS) for row in install_rows(i)]
    points = [point for i in range(INSTALLS) for point in _points(i)]
    mixed, twin = tmp_path_factory.mktemp("mixed"), tmp_path_factory.mktemp("twin")
    days = _write_states(mixed, SPANS_DIR, spans)
    assert _write_states(mixed, METRICS_DIR, points) == days
    LakeWriter(twin).write(pa.Table.from_pylist(spans, LAKE_SPANS_ARROW))
    LakeWriter(twin).write_metrics(pa.Table.from_pylist(points, LAKE_METRICS_ARROW))
    return mixed, twin, days


def _reports(run: Callable[[str], list[Row]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r, k): compute(run, r, k) for r in ("summary", "fleet", "metrics") for k in (1, 5)}


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits: the dashboard's averages are float sums, whose last bit follows the row
    order (the union of compacted and deduplicated rows is another order than the twin's)."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _view_sql(db: DuckDBLake, view: str) -> str:
    return str(db.rows(f"SELECT sql FROM duckdb_views() WHERE view_name = '{view}'")[0]["sql"])


def test_compacted_days_are_exactly_the_days_whose_only_file_is_compacted(lakes: tuple[Path, Path, Any]) -> None:
    mixed, twin, days = lakes
    for kind in (SPANS_DIR, METRICS_DIR):
        assert compacted_days(mixed, kind) == CompactedDays(tuple(sorted(days[0])), rest=True)
        assert compacted_days(twin, kind) == CompactedDays((), rest=True)
        compacted_plus_hub = {p.parent.name for p in lake_files(mixed, kind) if p.name.startswith(COMPACTED_PREFIX)}
        assert {f"day={d}" for d in days[1]} <= compacted_plus_hub  # state 1 does hold a compacted file
    assert compacted_days(mixed / "nowhere") == CompactedDays((), rest=False)


def test_every_share_id_counts_once_on_duckdb_and_the_dashboard(lakes: tuple[Path, Path, Any]) -> None:
    mixed, twin, days = lakes
    [(stored, unique)] = duckdb.sql(
        f"SELECT count(*), count(DISTINCT share_id) FROM read_parquet('{mixed}/spans/*/*.parquet')"
    ).fetchall()
    assert stored > unique  # the lake does hold repeats
    with DuckDBLake(mixed) as db, DuckDBLake(twin) as clean:
        answers = _reports(db.rows)
        assert answers == _reports(clean.rows)
        assert (
            answers[("summary", 1)]["totals"]["events"]
            == unique
            == len([r for i in range(INSTALLS) for r in install_rows(i)])
        )
        assert answers[("metrics", 1)]["metrics"][0]["points"] == sum(len(_points(i)) for i in range(INSTALLS))
        for view in ("lake_spans", "lake_metrics"):  # the compacted days are read as they are, the rest deduplicated
            sql = _view_sql(db, view)
            assert all(day in sql for day in days[0]) and not any(day in sql for day in days[1] | days[2] | days[3])
            assert "row_number" in sql
    for k in (1, 5):
        dashboard = _rounded(fleet_analytics(mixed, min_installs=k).model_dump())
        assert dashboard == _rounded(fleet_analytics(twin, min_installs=k).model_dump())
    assert dashboard["totals"]["total_spans"] == unique


def test_the_insights_count_every_share_id_once(lakes: tuple[Path, Path, Any]) -> None:
    mixed, twin, _ = lakes
    with DuckDBLake(mixed, view=lake_view_sql) as db:
        [counted] = db.rows("SELECT count(*) AS n, count(DISTINCT share_id) AS ids FROM lake_spans")
    assert counted["n"] == counted["ids"] == len([r for i in range(INSTALLS) for r in install_rows(i)])
    report = fleet_insights(mixed, min_installs=5)
    assert report.model_dump() == fleet_insights(twin, min_installs=5).model_dump()
    assert report.trends.series_tested and report.regressions.items  # not two empty reports


def test_a_lake_compacted_everywhere_is_read_without_the_window(tmp_path: Path) -> None:
    rows = [row for i in range(6) for row in install_rows(i) if row["start_ns"] < MONDAY + 3 * DAY]
    points = [point for i in range(6) for point in _points(i) if point["time_ns"] < MONDAY + 3 * DAY]
    for span_batch, point_batch in ((rows, points), (_retried(rows), _retried(points))):  # a retried batch
        LakeWriter(tmp_path).write(pa.Table.from_pylist(span_batch, LAKE_SPANS_ARROW))
        LakeWriter(tmp_path).write_metrics(pa.Table.from_pylist(point_batch, LAKE_METRICS_ARROW))
    days = sorted({p.parent.name.removeprefix("day=") for p in lake_files(tmp_path)})
    for kind in (SPANS_DIR, METRICS_DIR):
        for day in days:
            assert compact_day(tmp_path, day, kind=kind)[0] == 2
        assert compacted_days(tmp_path, kind) == CompactedDays(tuple(days), rest=False)
    with DuckDBLake(tmp_path) as db, DuckDBLake(tmp_path, view=lake_view_sql) as insights:
        for sql in (_view_sql(db, "lake_spans"), _view_sql(db, "lake_metrics"), _view_sql(insights, "lake_spans")):
            assert "row_number" not in sql and all(day in sql for day in days)
        assert compute(db.rows, "summary", 1)["totals"]["events"] == len(rows)
        assert compute(db.rows, "metrics", 1)["metrics"][0]["points"] == len(points)


def test_the_sql_builder_never_emits_empty_or_unchecked_day_lists() -> None:
    plain = deduped_sql("lake_raw", "install_id")
    assert "row_number" in plain and " IN (" not in plain
    assert deduped_sql("lake_raw", "install_id", CompactedDays((), rest=False)) == plain  # an empty lake
    mixed = deduped_sql("lake_raw", "install_id", CompactedDays(("2026-12-04",), rest=True))
    assert "day IN ('2026-12-04')" in mixed and "day NOT IN ('2026-12-04')" in mixed and "row_number" in mixed
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        deduped_sql("lake_raw", "install_id", CompactedDays(("2026-12-04') OR (1=1",)))


def test_a_folder_that_is_not_a_day_is_never_taken_as_compacted(tmp_path: Path) -> None:
    rows = [row for row in install_rows(0) if row["start_ns"] < MONDAY + DAY]
    LakeWriter(tmp_path).write(pa.Table.from_pylist(rows + _retried(rows), LAKE_SPANS_ARROW))
    [written] = lake_files(tmp_path)
    odd = tmp_path / SPANS_DIR / "day=2026-09-21' OR '1'='1"
    odd.mkdir()
    written.rename(odd / f"{COMPACTED_PREFIX}x.parquet")
    assert compacted_days(tmp_path) == CompactedDays((), rest=True)


def test_spark_local_counts_every_share_id_once_and_equals_duckdb(
    lakes: tuple[Path, Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    mixed, _, _ = lakes
    for name, value in SMALL.items():
        monkeypatch.setenv(name, value)
    with DuckDBLake(mixed) as db:
        expected = _reports(db.rows)
    with SparkLake(mixed, master="local[2]") as spark:
        for kind, raw in ((SPANS_DIR, "lake_raw"), (METRICS_DIR, "lake_metrics_raw")):  # Spark's listing (URIs)
            assert compacted_days(mixed, kind, spark.spark.table(raw).inputFiles()) == compacted_days(mixed, kind)
        assert _reports(spark.rows) == expected
    spark_insights = fleet_insights(mixed, engine="spark", spark_master="local[2]", min_installs=5)
    assert spark_insights.model_dump() == fleet_insights(mixed, min_installs=5).model_dump()


def test_a_report_lists_the_lake_again_when_a_compaction_replaced_a_file_it_listed(tmp_path: Path) -> None:
    # A report next to a live lake: the files it listed are compacted away before it reads them. DuckDB
    # fails that read (a missing file); the report lists the lake again instead of failing or miscounting.
    from analytics.fleet.duckdb_engine import read_lake

    lake = tmp_path / "lake"
    rows = install_rows(0)[:40]
    day = day_of(rows[0]["start_ns"])
    rows = [row for row in rows if day_of(row["start_ns"]) == day]
    writer = LakeWriter(lake)
    for part in (rows[: len(rows) // 2], rows[len(rows) // 2 :], _retried(rows)):
        writer.write(pa.Table.from_pylist(part, LAKE_SPANS_ARROW))
    attempts: list[int] = []

    def count(db: DuckDBLake) -> int:
        if not attempts:
            compact_day(lake, day)  # after the listing, before the read
        attempts.append(1)
        return int(db.rows("SELECT count(*) AS n FROM lake_spans")[0]["n"])

    assert read_lake(lake, count) == len(rows)
    assert len(attempts) == 2
