"""`serve` is not a host app: it gets a larger DuckDB buffer cache, unless the user chose one."""

from pathlib import Path

import pytest

from telemetry.cli.common import SERVER_DB_MEMORY_LIMIT, build_settings
from telemetry.settings import TelemetrySettings


def test_the_library_default_is_small_and_serve_gets_more(tmp_path: Path) -> None:
    library = TelemetrySettings(home=tmp_path)
    server = build_settings(str(tmp_path), for_server=True)
    assert library.db_memory_limit == "32MB"
    assert server.db_memory_limit == SERVER_DB_MEMORY_LIMIT != library.db_memory_limit
    assert build_settings(str(tmp_path)).db_memory_limit == library.db_memory_limit


def test_a_memory_limit_the_user_set_wins_for_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEFT_TELEMETRY_DB_MEMORY_LIMIT", "48MB")
    assert build_settings(str(tmp_path), for_server=True).db_memory_limit == "48MB"
