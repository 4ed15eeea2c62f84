"""Parquet and CSV export of a log at the retention cap (1,000,000 events) within the default DuckDB
memory limit (the host app's 32MB): DuckDB only streams, the sorting happens in Arrow."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from _big_log import RETENTION_CAP, build_big_log
from _cli_helpers import make_runner

from telemetry.settings import TelemetrySettings


@pytest.fixture(scope="module")
def big_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cap") / "home"
    build_big_log(home / "telemetry" / "events.duckdb")
    return home


@pytest.mark.timeout(600)
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_at_the_retention_cap_fits_the_default_memory_limit(big_home: Path, tmp_path: Path, fmt: str) -> None:
    assert TelemetrySettings(home=big_home).max_events == RETENTION_CAP
    assert TelemetrySettings(home=big_home).db_memory_limit == "32MB"  # what the export runs under
    result = make_runner(big_home)("export", "--format", fmt, "--output", str(tmp_path / "out"), timeout=600)
    assert result.code == 0, result.stderr
    assert f"{RETENTION_CAP:,} spans" in result.stdout
    path = tmp_path / "out" / f"spans.{fmt}"
    if fmt == "parquet":
        times = pq.read_table(path, columns=["start_ns"]).column("start_ns")
    else:
        options = pacsv.ConvertOptions(include_columns=["start_ns"])
        times = pacsv.read_csv(path, convert_options=options).column("start_ns")
    assert len(times) == RETENTION_CAP
    assert pc.all(pc.greater_equal(times[1:], times[:-1])).as_py()  # oldest first, across every chunk
    assert pc.count_distinct(times).as_py() == RETENTION_CAP  # no row twice
