"""Fleet analytics: the reports over the lake many installs share into, on DuckDB or Spark.

Each report is written once, as SQL over the view ``lake_spans`` (one row per shared span), in the subset
of DuckDB SQL that ``sqlglot`` transpiles to Spark SQL (:mod:`analytics.fleet.reports`). Every group a
report shows (a breakdown row, a version, an OS, a day) is backed by at least ``min_installs`` distinct
installs, or it is left out and counted in ``suppressed``: the same SQL, so the same rule, on every engine.

Example::

    from analytics.fleet import run_fleet_report
    answer = run_fleet_report(Path("/srv/lake"), "summary", engine="duckdb", min_installs=5)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .reports import DEFAULT_MIN_INSTALLS, FLEET_REPORTS, run_fleet_report

# Names load on first use (PEP 562), not when the package is imported. A package whose __init__ imports its
# own modules can deadlock Python 3.11's import locks when two threads import it and one of its modules at once
# (the pipeline built on the telemetry thread, the app importing ours); Python then hands one of them a
# partly initialized module and an ImportError. tests/test_architecture.py keeps package files import-free.
_EXPORTS = {
    "DEFAULT_MIN_INSTALLS": "reports",
    "FLEET_REPORTS": "reports",
    "run_fleet_report": "reports",
}
__all__ = ["DEFAULT_MIN_INSTALLS", "FLEET_REPORTS", "run_fleet_report"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
