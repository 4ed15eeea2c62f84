"""A real DuckDB event log file per test (pytest tmp_path), filled with the rows of ``dataset()``."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from _analytics_helpers import CONSENT, Connect, Row, create_log, dataset, insert, opener

from exporters.eventlog import schema


@pytest.fixture
def empty_path(tmp_path: Path) -> Path:
    path = tmp_path / "events.duckdb"
    create_log(path)
    return path


@pytest.fixture
def rows() -> list[Row]:
    return dataset()


@pytest.fixture
def log_path(empty_path: Path, rows: list[Row]) -> Path:
    with duckdb.connect(str(empty_path)) as con:
        insert(con, schema.SPANS, rows)
        insert(con, schema.CONSENT_LEDGER, CONSENT)
    return empty_path


@pytest.fixture
def connect(log_path: Path) -> Connect:
    return opener(log_path)
