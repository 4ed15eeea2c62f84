"""Crash-safe, owner-only small files: write to a temp file, fsync, replace, fsync the folder.

A plain rewrite killed with -9 can leave the config empty or truncated; this sequence leaves either the
old or the new content. Temp files are named ``<name>.<pid>.<random>.tmp-write``: a leftover is removed
only when it is provably abandoned (its writer process is gone, or it is older than
``STALE_TEMP_AGE_S``), never while another live process is between its write and its rename.

Everything the library writes under the data home is owner-only on POSIX: folders 0700, files 0600, set
when created and repaired when the home is opened (:func:`secure_home`). On Windows ``chmod`` only
toggles the read-only flag; there the per-user profile folder's ACL is what protects the data home.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from exporters.fs import PRIVATE_FILE_MODE, fsync_dir, make_private_dirs, restrict_to_owner, wipe

_TMP_SUFFIX = ".tmp-write"
#: A temp file this old is abandoned whatever its name says (its pid may have been reused).
STALE_TEMP_AGE_S = 3600.0
#: The folders of the data home the library creates (config, event log, default exports).
HOME_FOLDERS = ("config", "telemetry", "exports")


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace ``path`` with ``data`` durably: when this returns, the new content survives a crash."""
    make_private_dirs(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{path.name}.{os.getpid()}.", suffix=_TMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_dir(path.parent)


def open_private(path: Path) -> int:
    """Create (or truncate) ``path`` for writing with mode 0600 from the start; returns the descriptor.

    The folder must exist: a folder the caller did not ask for is never created here."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE_FILE_MODE)  # an existing file keeps its old mode through O_CREAT
    return fd


def secure_home(home: Path) -> None:
    """Repair modes under an existing data home: the home and its folders 0700, their files 0600.

    Creates nothing (a consent-off start writes no file). Folders a user pointed elsewhere are theirs.
    """
    for folder in (home, *(home / name for name in HOME_FOLDERS)):
        restrict_to_owner(folder)
        if folder == home or not folder.is_dir():
            continue
        with contextlib.suppress(OSError):
            restrict_to_owner(*folder.iterdir())


def remove_stale_temp_files(folder: Path, *, now: float | None = None) -> int:
    """Delete temp files that crashed writers left behind; returns how many.

    A temp file whose writer is alive is never touched, however old the writer: removing it would make
    that writer's rename fail (``FileNotFoundError``).
    """
    removed = 0
    if not folder.is_dir():
        return 0
    current = time.time() if now is None else now
    for leftover in folder.glob("*" + _TMP_SUFFIX):
        with contextlib.suppress(OSError):
            if _abandoned(leftover, current):
                leftover.unlink()
                removed += 1
    return removed


def _abandoned(path: Path, now: float) -> bool:
    if now - path.stat().st_mtime > STALE_TEMP_AGE_S:
        return True
    pid = _writer_pid(path.name)
    return pid is not None and not _process_alive(pid)


def _writer_pid(name: str) -> int | None:
    # "<target>.<pid>.<random>.tmp-write": the pid is the second field from the end.
    parts = name[: -len(_TMP_SUFFIX)].split(".")
    if len(parts) < 3 or not parts[-2].isdigit():
        return None
    return int(parts[-2])


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    except OSError:
        return False
    return True


def erase_library_files(home: Path) -> int:
    """Overwrite and remove what the library wrote under ``home`` besides the event log (which
    ``EventLog.erase`` handles): default exports, the server's export temp files, and config files set
    aside as damaged. Files the user exported elsewhere are theirs. Returns how many paths went."""
    doomed: list[Path] = []
    exports, config = home / "exports", home / "config"
    if exports.is_dir():
        doomed += list(exports.iterdir())
    if config.is_dir():
        doomed += [p for p in config.iterdir() if ".corrupt-" in p.name]
    for path in doomed:
        with contextlib.suppress(FileNotFoundError):
            wipe(path)
    for folder in (exports, config):
        fsync_dir(folder)
    return len(doomed)
