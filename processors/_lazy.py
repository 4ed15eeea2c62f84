"""A package's public names, imported on first use (PEP 562) instead of when the package is imported.

Why: a package whose ``__init__`` imports its own modules can deadlock Python 3.11's import locks when two
threads import the package and one of its modules at once (the pipeline built on the telemetry thread, the
app importing ours), and Python breaks the deadlock by handing one of them a partly initialized module: an
ImportError. A package file that imports nothing of its own cannot take part in such a cycle
(tests/test_architecture.py checks that no import cycle is left below ``telemetry/``).

Example (a package's ``__init__.py``; the names are imported for type checkers only)::

    if TYPE_CHECKING:
        from exporters.eventlog.log import EventLog
    else:
        __getattr__ = lazy_exports(__name__, {"EventLog": "log"})
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``exports`` maps a public name to the module (relative to
    the package) that defines it; each is imported once, when first asked for."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value  # looked up once
        return value

    return __getattr__
