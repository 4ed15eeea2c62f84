"""Default names for export files: readable, sortable, and never the same twice."""

from __future__ import annotations

import time
import uuid
from pathlib import Path


def default_export_path(folder: Path, suffix: str = ".jsonl") -> Path:
    """``<folder>/telemetry-YYYYmmdd-HHMMSS-<random>.jsonl``: two exports in the same second (two processes,
    or two calls) get different names, so neither overwrites the other.

    >>> default_export_path(Path("exports")).name  # doctest: +SKIP
    'telemetry-20261205-161500-3f9a1c.jsonl'
    """
    return folder / f"telemetry-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}{suffix}"
