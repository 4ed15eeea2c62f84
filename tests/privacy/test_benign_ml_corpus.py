"""Benign ML values through the real pipeline into a real DuckDB file: >= 95% unchanged, errors stay useful.

Each value is recorded once as an event property (``track_event``) and each error message once as an error
(``track_error``), in one service and one DuckDB file for the module; what was stored is read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _benign_ml_corpus import ERRORS, VALUES

from telemetry.service import TelemetryService
from telemetry.testing import recording_service, stored_events


class _LibraryError(Exception):
    """An error whose str() is a library's message, raised through the real track_error path."""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, object], dict[str, str]]]:
    home: Path = tmp_path_factory.mktemp("benign") / "home"
    service: TelemetryService
    with recording_service(home) as service:
        for i, value in enumerate(VALUES):
            service.track_event_sync("benign_value", {"case": f"v{i}", "value": value})
        for i, (message, _) in enumerate(ERRORS):
            try:
                raise _LibraryError(message)
            except _LibraryError as exc:
                service.track_error_sync(exc, {"case": f"e{i}"})
        rows = stored_events(service)
    values = {r["attributes"]["case"]: r["attributes"].get("value") for r in rows if r["name"] == "benign_value"}
    errors = {r["attributes"]["context.case"]: r["status_message"] or "" for r in rows if r["category"] == "error"}
    yield values, errors


def test_corpus_size() -> None:
    assert len(VALUES) >= 200


def test_benign_values_survive_unchanged(stored: tuple[dict[str, object], dict[str, str]]) -> None:
    values, _ = stored
    changed = [(v, values.get(f"v{i}")) for i, v in enumerate(VALUES) if values.get(f"v{i}") != v]
    survival = 1 - len(changed) / len(VALUES)
    print(f"\nbenign ML corpus: {len(VALUES) - len(changed)}/{len(VALUES)} unchanged ({survival:.1%})")
    for before, after in changed:
        print(f"  changed: {before!r}\n       -> {after!r}")
    assert survival >= 0.95


def test_error_messages_keep_type_file_names_and_numbers(stored: tuple[dict[str, object], dict[str, str]]) -> None:
    _, errors = stored
    assert len(errors) == len(ERRORS)
    missing = []
    for i, (_, must_keep) in enumerate(ERRORS):
        stored_message = errors[f"e{i}"]
        missing += [(part, stored_message) for part in must_keep if part not in stored_message]
    unchanged = sum(errors[f"e{i}"].endswith(m) for i, (m, _) in enumerate(ERRORS))
    print(f"\nerror messages: {unchanged}/{len(ERRORS)} unchanged; parts lost: {len(missing)}")
    for part, stored_message in missing:
        print(f"  lost {part!r} in {stored_message!r}")
    assert missing == []
