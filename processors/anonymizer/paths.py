"""File-system paths: the regex pieces that find them and the rule that reduces them.

What a path becomes (the spec: "file paths reduced to the file name"; no directory structures):

* the user's own home folder, in any spelling (``/`` or ``\\``, doubled backslashes from JSON, ``file://``,
  percent-encoded, any case, ``/c/Users/x`` and ``/mnt/c/Users/x`` forms of a Windows home): ``~`` when it
  stands alone, otherwise what is below it is reduced like any other path;
* a file inside an installed package (``site-packages``, ``dist-packages``, ``node_modules``, the standard
  library's ``lib/pythonX.Y``): its package-relative path, ``torch/nn/modules/module.py``, which is what
  makes an error report useful and says nothing about the machine;
* any other absolute path (``/``, ``C:\\``, ``\\\\server\\share``, ``~/``) and ``./``/``../`` paths: the file
  name alone, ``adapter_model.safetensors``;
* another user's home folder itself (``/home/bob``, ``C:\\Users\\bob``): ``<home>``, never the name.

Absolute POSIX-looking strings are also HTTP routes (``/api/telemetry/events``). A string is treated as a
file path when its first folder is a file-system root (``/home``, ``/tmp``, ``/usr``, ...), and otherwise only
when it has a file extension or three or more segments; known web prefixes (``/api``, ``/v1``, ``/static``,
...) are always routes. Relative paths without ``./`` (``runs/exp-01``, ``meta-llama/Llama-2-7b-hf``) are kept:
they are mostly hub ids and run names.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from . import rules

# One path segment: no separators, no whitespace, nothing that ends a token in prose or code.
SEG: Final = r"""[^\s\\/:*?"'<>|,;()\[\]{}=&#%`]"""
SEP: Final = r"(?:[\\/]+|%2[fF]|%5[cC])"
# A percent-encoded segment may carry %xx escapes other than encoded separators.
PSEG: Final = r"(?:[^\s\\/:*?\"'<>|,;()\[\]{}=&#%`]|%(?!2[fF]|5[cC])[0-9A-Fa-f]{2})"

# Each source opens with a character class or a literal and checks what precedes it with a two-character
# look-behind, so ``re`` skips the alternative in C wherever its first character cannot occur (see patterns).
_NB: Final = r"[\s\S]"
POSIX_ABS: Final = rf"/(?<![\w.~/\\%-]{_NB})/?{SEG}+(?:/{SEG}+)+/?"
WIN_ABS: Final = rf"[A-Za-z](?<!\w{_NB}):(?:[\\/]+{SEG}+(?: {SEG}+)*)+[\\/]?"
UNC: Final = rf"\\(?<![\w\\]{_NB})\\{SEG}+(?:\\{{1,2}}{SEG}+)+\\?"
TILDE: Final = rf"~(?<![\w~]{_NB})(?:[\\/]+{SEG}+)+[\\/]?"
RELATIVE: Final = rf"\.(?<![\w.]{_NB})\.?(?:[\\/]+{SEG}+)+[\\/]?"

_SPLIT: Final = re.compile(r"(?:[\\/]|%2[fF]|%5[cC])+")
_EXT: Final = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,9}$")
_PY_DIR: Final = re.compile(r"python\d+(?:\.\d+)*t?", re.IGNORECASE)
_DRIVE: Final = re.compile(r"^[A-Za-z]:$")

PACKAGE_DIRS: Final = frozenset({"site-packages", "dist-packages", "node_modules"})

#: First folders that make an absolute POSIX string a file-system path.
FS_ROOTS: Final = frozenset(
    {
        "home",
        "users",
        "root",
        "tmp",
        "var",
        "usr",
        "opt",
        "etc",
        "mnt",
        "media",
        "srv",
        "data",
        "workspace",
        "workspaces",
        "content",
        "kaggle",
        "private",
        "volumes",
        "nix",
        "snap",
        "proc",
        "dev",
        "lib",
        "lib64",
        "bin",
        "sbin",
        "boot",
        "sys",
        "run",
        "scratch",
        "gpfs",
        "lustre",
        "net",
        "cluster",
        "shared",
        "storage",
        "work",
        "project",
        "projects",
        "app",
        "apps",
        "code",
        "src",
        "applications",
        "library",
        "system",
        "cygdrive",
        "mount",
        "fsx",
        "efs",
        "dbfs",
        "nfs",
        "group",
        "groups",
        "people",
        "disk",
        "disks",
        "ssd",
        "hdd",
        "nvme",
    }
)
#: First segments that make an absolute POSIX string a URL route.
WEB_ROOTS: Final = frozenset(
    {
        "api",
        "static",
        "docs",
        "redoc",
        "openapi.json",
        "health",
        "healthz",
        "livez",
        "readyz",
        "metrics",
        "assets",
        "ws",
        "graphql",
        "telemetry",
        "events",
        "auth",
        "login",
        "logout",
        "dashboard",
        "ui",
        "web",
        "v1",
        "v2",
        "v3",
        "v4",
        "_next",
        "favicon.ico",
        "robots.txt",
    }
)
_HOME_ROOTS: Final = frozenset({"home", "users"})


@dataclass(frozen=True)
class HomeSpec:
    """The current user's home folder split for matching: optional drive letter and folder names."""

    drive: str | None
    parts: tuple[str, ...]


def parse_home(home_dir: str | os.PathLike[str] | None) -> HomeSpec | None:
    """Split a home folder in either OS's syntax (so tests can use a Windows home on Linux)."""
    raw = os.fspath(home_dir) if home_dir is not None else str(Path.home())
    drive: str | None = None
    if re.match(r"^[A-Za-z]:[\\/]", raw):
        drive, raw = raw[0].lower(), raw[2:]
    parts = tuple(p for p in _SPLIT.split(raw) if p)
    if not parts:
        return None  # a home of "/" (some containers) names nobody: nothing to hide
    return HomeSpec(drive=drive, parts=parts)


def home_patterns(spec: HomeSpec) -> list[str]:
    """Regex sources (case-insensitive) for the home folder in every spelling, plus what follows below it.

    One source per way the spelling can start (``file:``, a drive letter, a separator), each opening with a
    character class. What lies below the folder is captured in the group ``home_tail{i}`` of source ``i``.
    """
    body = SEP.join(re.escape(p) for p in spec.parts)
    # The folder must end where a segment ends, so /home/alice never matches inside /home/alicex.
    end = r"(?=[\\/\s\"'<>|,;:()\[\]{}?#&=`]|%2[fF]|%5[cC]|%22|%27|$)"
    tail = rf"(?:{SEP}{PSEG}+(?: {PSEG}+)*)*{SEP}?"
    sep_first = rf"[\\/%](?<![\w.~/\\%-]{_NB})(?:(?<=[\\/])[\\/]*|(?<=%)(?:2[fF]|5[cC]))"
    file_url = rf"[fF](?<![\w.+-]{_NB})(?i:ile:(?:/{{2,3}}|\\\\)?"
    if spec.drive is None:
        heads = [rf"{file_url}{SEP}{body})", rf"{sep_first}(?i:{body})"]
    else:
        d = re.escape(spec.drive)
        heads = [
            rf"{file_url}(?:{d}:|{d}%3a)?{SEP}{body})",
            rf"[{d}{d.upper()}](?<!\w{_NB})(?i:(?::|%3a){SEP}{body})",
            # \Users\x without the drive, and the /c/Users/x, /mnt/c/Users/x forms of MSYS and WSL.
            rf"{sep_first}(?i:(?:(?:(?:mnt|cygdrive){SEP})?{d}{SEP})?{body})",
        ]
    return [rf"{head}{end}(?P<home_tail{i}>{tail})" for i, head in enumerate(heads)]


def _components(text: str) -> list[str]:
    if "%" in text:
        return [p for p in _SPLIT.split(text) if p]
    return [p for p in text.replace("\\", "/").split("/") if p]  # the common case, without a regex


def _package_tail(parts: list[str]) -> str | None:
    joined = "/".join(parts).lower()
    if "-packages" not in joined and "node_modules" not in joined and "python" not in joined:
        return None  # the common case: no package folder anywhere
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].lower() in PACKAGE_DIRS and i + 1 < len(parts):
            return "/".join(parts[i + 1 :])
    for i in range(len(parts) - 1, 0, -1):
        # .../lib/python3.11/json/decoder.py and C:\Python311\Lib\json\decoder.py
        stdlib = (_PY_DIR.fullmatch(parts[i]) and parts[i - 1].lower() in ("lib", "lib64")) or (
            parts[i].lower() == "lib" and _PY_DIR.fullmatch(parts[i - 1])
        )
        if stdlib and i + 1 < len(parts):
            return "/".join(parts[i + 1 :])
    return None


def reduce_path(text: str, origin: str) -> tuple[str, str] | None:
    """What a matched path becomes, and the rule that fired; None when it is not a path after all.

    ``origin`` names the alternative that matched: posix, win, unc, tilde, rel (or home_tail for what was
    below the user's own home). The file name returned still has to go through the value detectors.
    """
    parts = _components(text)
    if origin == "win" and parts and _DRIVE.match(parts[0]):
        parts = parts[1:]
    if not parts:
        return None
    tail = _package_tail(parts)
    if origin == "home_tail":
        return (tail, rules.PATH_PACKAGE) if tail else (parts[-1], rules.PATH_HOME)
    if origin == "tilde":
        return (tail, rules.PATH_PACKAGE) if tail else (parts[-1], rules.PATH_HOME)
    first = parts[0].lower()
    if origin == "posix" and parts[0] == "users" and not _EXT.search(parts[-1]):
        return None  # /users/me/adapters: a lowercase route; macOS homes are /Users/<name>
    if (
        origin == "posix"
        and first not in FS_ROOTS
        and (first in WEB_ROOTS or (len(parts) < 3 and not _EXT.search(parts[-1])))
    ):
        return None
    if tail:
        return tail, rules.PATH_PACKAGE
    if len(parts) >= 2 and parts[-2].lower() in _HOME_ROOTS:
        return rules.MARKERS[rules.PATH_USER_HOME], rules.PATH_USER_HOME  # .../home/bob: the last name is a user's
    if origin in ("posix", "win") and first in _HOME_ROOTS:
        # /home/bob itself says only who bob is; below it, the file name is what we keep.
        if len(parts) <= 2:
            return rules.MARKERS[rules.PATH_USER_HOME], rules.PATH_USER_HOME
        return parts[-1], rules.PATH_USER_HOME
    if origin == "posix" and first == "root":
        return parts[-1], rules.PATH_USER_HOME
    if origin == "unc" and len(parts) <= 2:
        return "<path>", rules.PATH_ABSOLUTE  # \\server\share alone: both names may identify someone
    return parts[-1], (rules.PATH_RELATIVE if origin == "rel" else rules.PATH_ABSOLUTE)


def reduce_frame_path(text: str) -> str:
    """A stack frame's file: package-relative inside packages, else the file name (``<stdin>`` is kept)."""
    if text.startswith("<") and text.endswith(">"):
        return text
    parts = _components(text)
    if parts and _DRIVE.match(parts[0]):
        parts = parts[1:]
    if not parts:
        return text
    return _package_tail(parts) or parts[-1]
