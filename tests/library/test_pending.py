"""Every call that returns a pending result can be awaited and also waited for with ``.result()``."""

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from telemetry import Pending, TelemetryService
from telemetry.testing import recording_service, stored_events


def test_every_pending_call_can_be_awaited(tmp_path: Path) -> None:
    async def main(service: TelemetryService) -> None:
        assert await service.enable() is None
        assert service.is_enabled()
        await service.track_event("awaited_event", {"step": 1})
        summary = await service.export_all(str(tmp_path / "as-str.jsonl"))  # a str path, awaited
        assert summary.spans >= 1
        await service.disable()
        assert not service.is_enabled()
        await service.enable()
        await service.delete_all()
        assert stored_events(service, category="event") == []
        assert bool(await service.shutdown()) is True

    with recording_service(tmp_path / "home", enabled=False) as service:
        asyncio.run(main(service))
    lines = (tmp_path / "as-str.jsonl").read_text().splitlines()
    assert any("awaited_event" in line for line in lines)


def test_every_pending_call_also_works_synchronously(tmp_path: Path) -> None:
    class FsPath(os.PathLike[str]):  # any os.PathLike, not just pathlib
        def __fspath__(self) -> str:
            return str(tmp_path / "as-pathlike.jsonl")

    with recording_service(tmp_path / "home", enabled=False) as service:
        for pending in (service.enable(), service.disable(), service.enable()):
            assert isinstance(pending, Pending)
            assert pending.result(10) is None
        service.track_event_sync("sync_event")
        summary = service.export_all(FsPath()).result(10)
        assert summary.spans >= 1
        service.delete_all().result(10)
        assert service.shutdown().result(10) is True
    first = json.loads((tmp_path / "as-pathlike.jsonl").read_text().splitlines()[0])
    assert "resourceSpans" in first


def test_a_failure_reaches_the_awaiting_caller(tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()

    async def main(service: TelemetryService) -> None:
        with pytest.raises(IsADirectoryError):
            await service.export_all(tmp_path / "a-folder")

    with recording_service(tmp_path / "home") as service:
        asyncio.run(main(service))
        with pytest.raises(IsADirectoryError):
            service.export_all(tmp_path / "a-folder").result(10)


def test_default_export_names_never_collide(tmp_path: Path) -> None:
    with recording_service(tmp_path / "home") as service:
        service.track_event_sync("x")
        first = service.export_all().result(10)
        second = service.export_all().result(10)
        assert first.spans == second.spans == 1
    files = sorted((tmp_path / "home" / "exports").iterdir())
    assert len(files) == 2


def test_export_all_creates_no_folder_the_caller_named(tmp_path: Path) -> None:
    with recording_service(tmp_path / "home") as service, pytest.raises(FileNotFoundError):
        service.export_all(tmp_path / "missing" / "out.jsonl").result(10)
    assert not (tmp_path / "missing").exists()


def test_a_failure_nobody_looked_at_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import gc

    with recording_service(tmp_path / "home") as service:
        pending = service.export_all(tmp_path / "missing" / "out.jsonl")
        while not pending.done():
            time.sleep(0.01)
        del pending
        service.flush()  # the background thread's next job drops its last reference to the finished one
        gc.collect()
    assert any("export failed (FileNotFoundError)" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with recording_service(tmp_path / "home2") as service, pytest.raises(FileNotFoundError):
        service.export_all(tmp_path / "missing" / "out.jsonl").result(10)
    gc.collect()
    assert not [r for r in caplog.records if "nobody waited" in r.getMessage()]
