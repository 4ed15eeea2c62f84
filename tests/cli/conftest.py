"""Fixtures of the CLI tests: a temporary data home and a runner for the real console script."""

from __future__ import annotations

from pathlib import Path

import pytest
from _cli_helpers import Recorded, Runner, make_runner, record_demo


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def cli(home: Path) -> Runner:
    """``cli("status", "--json")`` runs ``peft-telemetry status --json --home <home>``."""
    return make_runner(home)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """One data home with consent and a demo, shared by the read-only tests of a module."""
    return record_demo(tmp_path_factory.mktemp("recorded") / "home")
