from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetry.service import TelemetryService
from telemetry.testing import recording_service


@pytest.fixture(autouse=True)
def _no_do_not_track(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own DO_NOT_TRACK must not turn the tests' telemetry off.
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.delenv("PEFT_TELEMETRY_DISABLED", raising=False)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TelemetryService]:
    """A service with consent given, on a data home of its own."""
    with recording_service(tmp_path / "home") as svc:
        yield svc
