"""DuckDB settings shared by the event log and the app's settings; importable without DuckDB.

>>> import re
>>> re.match(MEMORY_LIMIT_PATTERN, "128MB") is not None
True
"""

from __future__ import annotations

from typing import Final

#: A DuckDB ``memory_limit`` value: a number and a unit, decimal or binary, any case ("32MB", "1 GiB").
#: One pattern for ``EventLog(memory_limit=...)`` and ``TelemetrySettings.db_memory_limit`` (pydantic
#: runs it with the Rust regex engine, Python with ``re``: the syntax is common to both).
MEMORY_LIMIT_PATTERN: Final = r"(?i)^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$"
