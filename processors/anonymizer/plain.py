"""Other Python objects as plain data, before they are scrubbed like any value.

Ints, floats, strings and flags keep their meaning (subclasses and enums become the plain type), bytes are
decoded as UTF-8 (invalid bytes replaced), dates become ISO text, paths their string, pydantic models
their JSON form; anything else its ``str()``, or a marker when even that fails.

Example::

    plain_data(Path("/tmp/x"), {})  # "/tmp/x"
"""

from __future__ import annotations

import datetime as dt
import os
from enum import Enum
from typing import Any

from . import rules

Counts = dict[str, int]


def plain_data(v: Any, counts: Counts) -> Any:
    """Other types as plain data: ints, floats and strings keep their meaning; anything else is text."""
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, Enum):
        return v.value if isinstance(v.value, (str, int, float, bool)) else str(v.value)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", errors="replace")
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, os.PathLike):
        return os.fspath(v) if isinstance(os.fspath(v), str) else repr(v)
    dump = getattr(v, "model_dump", None)
    if callable(dump):  # pydantic models
        try:
            return dump(mode="json")
        except Exception:
            pass
    try:
        return str(v)
    except Exception:
        counts[rules.VALUE_UNSERIALIZABLE] = counts.get(rules.VALUE_UNSERIALIZABLE, 0) + 1
        return rules.MARKERS[rules.VALUE_UNSERIALIZABLE]
