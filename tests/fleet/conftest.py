"""Fixtures of the fleet tests: a real hub process over a lake of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _fleet_helpers import Hub, start_hub
from _spark_cluster import SparkCluster, start_cluster


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    running = start_hub(tmp_path / "lake")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """ONE standalone cluster (a master, two workers) for the whole session, stopped at its end."""
    cluster = start_cluster(tmp_path_factory.mktemp("spark"))
    try:
        yield cluster
    finally:
        cluster.stop()
