"""Fault probes with real parts (a full tmpfs, child processes): the host app sees no exception, a fault
that lasts is logged once (not once per retry), and recording resumes without losing what was flushed."""

from __future__ import annotations

import collections
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_disk_full import small_disk  # noqa: F401 - the tmpfs fixture

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def _child(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]), DO_NOT_TRACK="")
    return subprocess.run(
        [sys.executable, str(HERE / script), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def test_a_trickle_through_a_full_disk_loses_nothing_and_logs_each_fault_once(small_disk: Path) -> None:  # noqa: F811
    # 8 s of a full disk: the spool takes the trickle while merges fail; every retry reopens the log.
    result = _child("_trickle_full_child.py", str(small_disk), "8")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["stored"] == report["sent"], report  # nothing lost: the spool and the queue held it all
    assert report["flushed"] is True
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "the fault must be logged"
    # The same notice names another file or count each time: lines are compared by their first words.
    repeated = {line: n for line, n in collections.Counter(line[:60] for line in lines).items() if n > 1}
    assert repeated == {}, f"a lasting fault logged once per retry: {repeated}"
    assert len(lines) <= 6, lines


def test_shutdown_under_a_storm_of_threads_keeps_its_timeout_and_raises_nothing(tmp_path: Path) -> None:
    # 16 threads starve the export worker: shutdown gives up on it at its timeout. The event log must not be
    # closed under the export still writing (DuckDB refuses: a traceback) nor wait another lock_timeout.
    result = _child("_shutdown_storm_child.py", str(tmp_path / "home"), "2")
    # The export worker the shutdown gave up on must not be inside DuckDB when the interpreter finalizes: that
    # aborted the process (SIGABRT) in about one run of three. The exit waits for it (bounded).
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == [] and report["sent"] > 0
    assert report["shutdown_s"] < 2 + 1.5, report  # its timeout, and slack for a loaded machine
    assert "Traceback" not in result.stderr, result.stderr


def _needs_setpriv() -> None:
    # Permissions only bind a user other than root: such children run as nobody (setpriv), where possible.
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a child as an unprivileged user")
    if not _nobody_reaches_the_checkout():
        pytest.skip("the interpreter or this checkout is not readable by an unprivileged user here")


@functools.cache
def _nobody_reaches_the_checkout() -> bool:
    """Whether nobody can run this interpreter on the child scripts (a checkout in a 0700 folder: no)."""
    probe = [sys.executable, "-c", f"import runpy, telemetry; open({str(HERE / '_secret_child.py')!r}).close()"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *probe],
                          capture_output=True, text=True, timeout=60, env=env, cwd="/")  # fmt: skip
    return done.returncode == 0


def _as_nobody(script: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]), DO_NOT_TRACK="", HOME=str(home.parent))
    return subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, str(HERE / script),
         str(home)], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT,
    )  # fmt: skip


NOBODY = 65534


def test_an_unreadable_install_secret_is_not_replaced_and_the_id_survives(tmp_path: Path) -> None:
    _needs_setpriv()
    folder = Path(tempfile.mkdtemp(prefix="peft-secret-"))  # not under tmp_path: nobody must reach it
    try:
        folder.chmod(0o755)
        home = folder / "home"
        home.mkdir()
        os.chown(home, NOBODY, NOBODY)
        first = _as_nobody("_secret_child.py", home)
        assert first.returncode == 0, first.stderr
        original = json.loads(first.stdout.strip().splitlines()[-1])["id"]
        secret = home / "config" / "telemetry_secret"
        secret.chmod(0o000)
        unreadable = _as_nobody("_secret_child.py", home)
        assert unreadable.returncode == 0, unreadable.stderr  # the app goes on; so does recording
        assert json.loads(unreadable.stdout.strip().splitlines()[-1])["flushed"] is True
        assert "cannot read telemetry_secret (PermissionError)" in unreadable.stderr
        assert sorted(p.name for p in secret.parent.iterdir()) == ["telemetry_config.json", "telemetry_secret"]
        secret.chmod(0o600)
        again = _as_nobody("_secret_child.py", home)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout.strip().splitlines()[-1])["id"] == original  # not rotated for good
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_read_only_home_loses_events_counted_and_logged_once_never_raising(tmp_path: Path) -> None:
    _needs_setpriv()
    folder = Path(tempfile.mkdtemp(prefix="peft-readonly-"))  # root's, readable by all, writable by root only
    try:
        folder.chmod(0o755)
        home = folder / "home"
        enabled = _child("_secret_child.py", str(home))  # as root: consent given, a log written
        assert enabled.returncode == 0, enabled.stderr
        for path in [home, *home.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        result = _as_nobody("_readonly_home_child.py", home)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["recording"] is True  # the choice is read; only writing fails
        assert report["flushed"] is False and report["clean"] is False  # and both say so
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert any("PermissionError" in line for line in lines)
        repeated = {line: n for line, n in collections.Counter(line[:60] for line in lines).items() if n > 1}
        assert repeated == {} and len(lines) <= 5, lines  # 2,000 events: a few lines, not one per batch
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_home_deleted_while_recording_is_made_again_and_later_events_are_kept(tmp_path: Path) -> None:
    from exporters.eventlog import EventLog
    from telemetry.service import TelemetryService
    from telemetry.settings import TelemetrySettings

    home = tmp_path / "home"
    settings = TelemetrySettings(
        home=home, install_global=False, sample_resources=False, flush_interval_s=0.05, merge_interval_s=0.5
    )
    service = TelemetryService(settings)
    try:
        service.enable().result(30)
        service.track_event_sync("before_deletion")
        assert service.flush(30)
        shutil.rmtree(home)  # the user (or a cleaner) removes the data home while the app runs
        for i in range(20):
            service.track_event_sync("after_deletion", {"i": i})
        assert service.flush(30)  # True: so they must be in the file, not in the deleted one still open
        assert service.stats().dropped_export_failed == 0
    finally:
        service.shutdown(timeout=30)
    with EventLog(settings.db_path) as log, log.reader() as cur:
        stored = dict(cur.execute("SELECT event_type, count(*) FROM spans GROUP BY 1").fetchall())
    assert stored.get("after_deletion") == 20 and "before_deletion" not in stored
