"""The same reports on DuckDB and on Spark (local[*] and a real standalone cluster), on one lake with
duplicates and small groups: equal answers, each report written once (DuckDB SQL transpiled by sqlglot)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from _fleet_helpers import CLI, ROOT
from _spark_cluster import SMALL, SparkCluster

from analytics.fleet.duckdb_engine import DuckDBLake
from analytics.fleet.reports import FLEET_REPORTS, compute, report_sql
from analytics.fleet.spark_engine import SparkLake, spark_memory, spark_session, to_spark_sql
from exporters.lake import LAKE_METRICS_ARROW, LAKE_SPANS_ARROW, LakeWriter

DAY_NS = 86_400 * 10**9
START = 1_790_000_000 * 10**9


def _rows(install: int, count: int) -> list[dict[str, object]]:
    install_id = hashlib.sha256(f"install-{install}".encode()).hexdigest()
    rows = []
    for index in range(count):
        kind = ("model_loaded", "training_started", "oom")[index % 3]
        rows.append({
            "share_id": hashlib.md5(f"{install_id}:{index}".encode()).hexdigest(),
            "install_id": install_id, "trace_id": f"{install:016x}{index:016x}", "span_id": f"{index:016x}",
            "name": kind, "kind": "INTERNAL", "start_ns": START + (index % 3) * DAY_NS + install,
            "end_ns": START + (index % 3) * DAY_NS + install + 10**6, "duration_ms": 1.0 + index % 7,
            "status_code": "ERROR" if kind == "oom" else "UNSET", "category": "error" if kind == "oom" else "event",
            "event_type": kind, "error_type": "OutOfMemoryError" if kind == "oom" else None,
            "metric_name": "step_time" if index % 2 else None, "metric_value": 0.1 * index if index % 2 else None,
            "metric_unit": "ms" if index % 2 else None, "attributes": "{}", "resource": "{}",
            "app_version": f"1.{install % 3}", "os_type": ("linux", "darwin")[install % 2],
            "received_ns": START + index, "hub_id": "test",
        })  # fmt: skip
    return rows


def _points(install: int, count: int) -> list[dict[str, object]]:
    """Gauge and histogram points of one install (lake schema 2), some metrics on few installs only."""
    install_id = hashlib.sha256(f"install-{install}".encode()).hexdigest()
    rows: list[dict[str, object]] = []
    for index in range(count):
        histogram = index % 4 == 0
        rows.append({
            "share_id": hashlib.md5(f"{install_id}:p{index}".encode()).hexdigest(), "install_id": install_id,
            "name": "gpu_memory" if not histogram else ("step_time" if install < 6 else "rare_metric"),
            "unit": "MiB" if not histogram else "ms", "kind": "histogram" if histogram else "gauge",
            "time_ns": START + (index % 3) * DAY_NS + install, "start_ns": START,
            "value": None if histogram else 100.5 * (index % 5) + install,
            "count": 4 if histogram else None, "sum": 10.25 * index if histogram else None,
            "min": 0.5 if histogram else None, "max": 9.75 + install if histogram else None,
            "bucket_counts": [1, 3] if histogram else None, "explicit_bounds": [5.0] if histogram else None,
            "attributes": "{}", "app_version": f"1.{install % 3}", "received_ns": START + index, "hub_id": "test",
        })  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nine installs over three days, two hubs, every row (span and metric point) of install 0 stored twice
    (a retried batch)."""
    root = tmp_path_factory.mktemp("lake")
    for hub in range(2):
        writer = LakeWriter(root)
        rows = [r for install in range(hub, 9, 2) for r in _rows(install, 12 + install)]
        if hub == 1:
            rows += _rows(0, 12)
        writer.write(pa.Table.from_pylist(rows, LAKE_SPANS_ARROW))
        points = [p for install in range(hub, 9, 2) for p in _points(install, 10 + install)]
        if hub == 1:
            points += _points(0, 10)
        writer.write_metrics(pa.Table.from_pylist(points, LAKE_METRICS_ARROW))
    return root


@pytest.fixture(scope="module")
def duckdb_answers(lake: Path) -> dict[tuple[str, int], dict[str, object]]:
    with DuckDBLake(lake) as db:
        return {(r, k): compute(db.rows, r, k) for r in FLEET_REPORTS for k in (1, 5)}


@pytest.fixture(scope="module")
def local_spark() -> Iterator[object]:
    os.environ.update(SMALL)
    session = spark_session("local[*]")
    yield session
    session.stop()


def test_spark_heaps_are_sized_for_where_the_work_runs() -> None:
    gib = 1 << 30
    # Local: the driver does all the work, half the machine's memory within 1g..32g.
    assert spark_memory("local[2]", {}, 24 * gib) == ("12g", "512m")
    assert spark_memory("local[*]", {}, 1 * gib) == ("1g", "512m")
    assert spark_memory("local[*]", {}, 256 * gib) == ("32g", "512m")
    # A cluster: the executors work, the driver gathers answers.
    assert spark_memory("spark://10.0.0.5:7077", {}, 256 * gib) == ("1g", "512m")
    chosen = {"PEFT_FLEET_SPARK_DRIVER_MEMORY": "3G", "PEFT_FLEET_SPARK_EXECUTOR_MEMORY": " 2048m "}
    assert spark_memory("local[2]", chosen, 24 * gib) == ("3G", "2048m")
    for wrong in ("lots", "8 gb", "-1g", "0g", "8.5g"):
        with pytest.raises(ValueError, match="PEFT_FLEET_SPARK_DRIVER_MEMORY: expected a JVM memory size"):
            spark_memory("local[2]", {"PEFT_FLEET_SPARK_DRIVER_MEMORY": wrong})


def test_the_local_driver_gets_the_sized_heap(local_spark: object) -> None:
    """The size reaches the JVM (it must be set before the JVM starts, not on a running session)."""
    driver = spark_memory("local[*]")[0]
    expected = int(driver[:-1]) << 30
    runtime = local_spark._jvm.java.lang.Runtime.getRuntime()  # type: ignore[attr-defined]
    assert runtime.maxMemory() >= 0.85 * expected


def test_reports_are_written_once_and_spark_accepts_the_transpiled_sql(lake: Path) -> None:
    with DuckDBLake(lake) as db:
        for report in FLEET_REPORTS:
            for rows_sql, suppressed_sql in report_sql(report, 5).values():
                for sql in filter(None, (rows_sql, suppressed_sql)):
                    db.rows(sql)  # DuckDB runs the one text
                    assert ("lake_metrics" if report == "metrics" else "lake_spans") in to_spark_sql(sql)


def test_duckdb_and_spark_local_give_the_same_answers(lake: Path, local_spark: object, duckdb_answers: dict) -> None:  # type: ignore[type-arg]
    summary = duckdb_answers[("summary", 1)]
    assert summary["totals"]["events"] == sum(12 + i for i in range(9))  # type: ignore[index]  # deduplicated
    assert duckdb_answers[("fleet", 5)]["versions"] == []  # 3 installs per version < 5
    metrics = {m["name"]: m for m in duckdb_answers[("metrics", 5)]["metrics"]}  # type: ignore[union-attr]
    assert metrics["gpu_memory"]["installs"] == 9 and "rare_metric" not in metrics  # rare: 3 installs < 5
    assert metrics["gpu_memory"]["points"] == sum(10 + i - len(range(0, 10 + i, 4)) for i in range(9))  # deduped
    with SparkLake(lake, session=local_spark) as spark:
        for report, k in (("summary", 5), ("fleet", 1), ("metrics", 1), ("metrics", 5)):
            assert compute(spark.rows, report, k) == duckdb_answers[(report, k)], (report, k)


@pytest.mark.parametrize("report", ["events", "metrics"])
def test_the_cli_on_a_spark_standalone_cluster_equals_duckdb(
    report: str,
    lake: Path,
    spark_cluster: SparkCluster,
    duckdb_answers: dict,  # type: ignore[type-arg]
) -> None:
    done = subprocess.run(
        [*CLI, "query", "--lake", str(lake), "--report", report, "--format", "json", "--engine", "spark",
         "--spark-master", spark_cluster.master_url, "--min-installs", "5"],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **SMALL},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout) == duckdb_answers[(report, 5)]
