"""Schemathesis over the published OpenAPI schema, against a live server of its own: no 5xx anywhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.conftest import live_server


def _st() -> str:
    candidate = Path(sys.executable).with_name("st")
    found = str(candidate) if candidate.exists() else shutil.which("st")
    if found is None:
        pytest.skip("the schemathesis CLI is not installed")
    return found


def test_no_server_errors_over_the_schema(tmp_path: Path) -> None:
    with live_server(tmp_path / "home") as server:
        command = [
            _st(), "run", f"{server.base_url}/openapi.json",
            "--checks", "not_a_server_error",
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "10",
            "--seed", "20261128",
            "--workers", "1",
            "--no-shrink",
            "--request-timeout", "20",
            "--header", f"Authorization: Bearer {server.token}",
            "--warnings", "off",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
        assert "No issues found" in result.stdout
        with server.client() as http:
            assert http.get("/api/telemetry/consent").status_code == 200
        server.flush()
        stats = server.service.stats()
        # The run really reached the handlers (not an empty schema or refused connections) ...
        assert stats.processed + stats.dropped_without_consent > 50
        # ... and nothing it sent broke the pipeline behind them silently.
        assert stats.internal_errors == {}
        assert stats.dropped_anonymizer_failed == 0 and stats.dropped_export_failed == 0
