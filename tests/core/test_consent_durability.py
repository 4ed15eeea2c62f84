"""An opt-out survives SIGKILL right after ``disable()`` returns; concurrent starts and writes never
break each other's atomic writes; temp files are removed only when provably abandoned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from telemetry._files import STALE_TEMP_AGE_S, remove_stale_temp_files
from tests.core._consent_child import spawn as _spawn
from tests.core._consent_child import store

TRIALS = 100


def test_sigkill_right_after_disable_never_brings_consent_back(tmp_path: Path) -> None:
    prefix = tmp_path / "home"
    for trial in range(TRIALS):
        on = store(Path(f"{prefix}-{trial}"))
        on.set_enabled(True)
        on.save()
        assert store(Path(f"{prefix}-{trial}")).user_choice is True  # the control: it starts ON
    zygote = _spawn("disable-forks", str(prefix))
    assert zygote.stdin is not None and zygote.stdout is not None
    came_back_on = 0
    try:
        for trial in range(TRIALS):
            zygote.stdin.write(f"{trial}\n")
            zygote.stdin.flush()
            word, number, pid = zygote.stdout.readline().split()
            os.kill(int(pid), signal.SIGKILL)  # 0 ms after disable() returned
            assert (word, number) == ("disabled", str(trial))
            assert zygote.stdout.readline().strip() == f"reaped {trial}"
            if store(Path(f"{prefix}-{trial}")).user_choice:
                came_back_on += 1
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
    assert came_back_on == 0, f"{came_back_on} of {TRIALS} opt-outs were lost"


def test_concurrent_starts_and_consent_writes_never_fail(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store(home).save()
    children = [_spawn("writes", str(home), "120") for _ in range(3)]
    children += [_spawn("starts", str(home), "200") for _ in range(2)]
    children += [_spawn("enable", str(home)) for _ in range(3)]  # whole services starting together
    outputs = [child.communicate(timeout=120) for child in children]
    for (out, err), child in zip(outputs, children, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == "failures 0", err
    assert not list((home / "config").glob("*.tmp-write"))  # nothing left behind either
    assert store(home).record is not None


def test_only_abandoned_temp_files_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    live_pid = os.getpid()
    of_dead = folder / f"telemetry_config.json.{dead_pid}.abcd1234.tmp-write"
    of_live = folder / f"telemetry_config.json.{live_pid}.efgh5678.tmp-write"
    unnamed_new = folder / "telemetry_config.json.xyz.tmp-write"
    unnamed_old = folder / "telemetry_config.json.old.tmp-write"
    for path in (of_dead, of_live, unnamed_new, unnamed_old):
        path.write_text("{")
    long_ago = time.time() - STALE_TEMP_AGE_S - 60
    os.utime(unnamed_old, (long_ago, long_ago))
    assert remove_stale_temp_files(folder) == 2
    assert not of_dead.exists() and not unnamed_old.exists()
    assert of_live.exists() and unnamed_new.exists()  # a live writer's file, and a recent one of unknown owner
    os.utime(of_live, (long_ago, long_ago))
    assert remove_stale_temp_files(folder) == 1  # older than the bound: abandoned whatever its name says
    assert not of_live.exists()
