"""Owner-only folders and files, and durable renames: the file-system habits every layer shares.

Plain standard library, nothing heavy: ``telemetry`` imports it on its light paths too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_WIPE_CHUNK = 1 << 20
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0700 (``mkdir(parents=True)`` would give the
    parents the umask's mode)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):
            part.mkdir(mode=PRIVATE_DIR_MODE)


def restrict_to_owner(*paths: Path) -> None:
    """Take group and other permissions off existing files we own (no-op off POSIX)."""
    if os.name != "posix":
        return
    for path in paths:
        with contextlib.suppress(OSError):
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
                continue
            mode = stat.S_IMODE(info.st_mode)
            wanted = PRIVATE_DIR_MODE if stat.S_ISDIR(info.st_mode) else PRIVATE_FILE_MODE
            if mode & ~wanted:
                os.chmod(path, mode & wanted)


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in ``folder`` durable (best effort: not every platform can)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def wipe(path: Path) -> None:
    """Overwrite a file (or every file below a folder) with zeros, then remove it."""
    if path.is_symlink():
        path.unlink()
        return
    if path.is_dir():
        for child in path.iterdir():
            wipe(child)
        path.rmdir()
        return
    if not path.exists():
        return
    size = path.stat().st_size
    zeros = bytes(min(size, _WIPE_CHUNK))
    with open(path, "r+b") as f:
        left = size
        while left > 0:
            left -= f.write(zeros[: min(left, len(zeros))])
        f.flush()
        os.fsync(f.fileno())
    path.unlink()
