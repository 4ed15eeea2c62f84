"""Fixtures of the fleet tests: a real hub process over a lake of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _fleet_helpers import Hub, start_hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    running = start_hub(tmp_path / "lake")
    try:
        yield running
    finally:
        running.stop()
