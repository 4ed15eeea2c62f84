"""Everything the library writes under the data home: owner-only modes, and erased by delete_all()."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest

from telemetry.testing import recording_service

posix_only = pytest.mark.skipif(os.name != "posix", reason="owner-only modes are POSIX permissions")


def _files_containing(root: Path, needle: str) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and needle.encode() in path.read_bytes():
            found.append(path)
    return found


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in [root, *root.rglob("*")]}


@posix_only
def test_every_folder_is_0700_and_every_file_0600(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old_umask = os.umask(0o022)  # the usual umask: what DuckDB and open() would give is 0644 / 0755
    try:
        with recording_service(home) as service:
            service.track_event_sync("modes_probe", {"n": 1})
            service.flush()
            service.export_all().result(30)
            modes = _modes(home)
    finally:
        os.umask(old_umask)
    assert any(name.startswith("exports/") for name in modes) and "telemetry/events.duckdb" in modes
    too_open = {name: oct(mode) for name, mode in modes.items() if mode & (stat.S_IRWXG | stat.S_IRWXO)}
    assert too_open == {}


@posix_only
def test_modes_are_repaired_on_open(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with recording_service(home) as service:
        service.track_event_sync("repair_probe")
        service.flush()
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # what an older version (or a copy) left
    with recording_service(home, enabled=False) as service:
        service.event_log.stats()  # the event log's own files are repaired when it opens
        modes = _modes(home)
    assert {name: oct(mode) for name, mode in modes.items() if mode & (stat.S_IRWXG | stat.S_IRWXO)} == {}


def test_delete_all_leaves_no_marker_in_any_file_under_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = secrets.token_hex(16)  # a digest by shape: stored as it is (an unknown word would become <word>)
    with recording_service(home) as service:
        for _ in range(20):
            service.track_event_sync("erase_probe", {"note": marker})
        service.flush()
        export = service.export_all().result(30)
        assert export.spans >= 20
        # What the library leaves beside the log: a set-aside database and WAL, a spill folder, a
        # damaged config kept for inspection.
        data = service.settings.data_dir
        (data / "events.duckdb.corrupt-20260101T000000-1").write_text(marker)
        (data / "events.duckdb.wal.corrupt-20260101T000000-2").write_text(marker)
        (data / "events.duckdb.tmp").mkdir()
        (data / "events.duckdb.tmp" / "duckdb_temp_block-1.block").write_text(marker)
        (home / "config" / "telemetry_config.json.corrupt-1767225600").write_text(marker)
        outside = tmp_path / "my-export.jsonl"  # the user's own copy elsewhere is theirs
        service.export_all(outside).result(30)
        before = _files_containing(home, marker)
        # Positive control: the search finds the marker where it is.
        assert len([p for p in before if p.parent.name == "exports"]) == 1
        assert len(before) >= 5, before

        service.delete_all().result(60)

        assert _files_containing(home, marker) == []
        assert not list((home / "exports").iterdir())
        assert marker.encode() in outside.read_bytes()
        service.track_event_sync("after_erase")  # the fresh log records again
        service.flush()
        assert service.event_log.stats().spans >= 1
