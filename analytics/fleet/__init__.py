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

from typing import TYPE_CHECKING

from exporters._lazy import lazy_exports

if TYPE_CHECKING:
    from .reports import DEFAULT_MIN_INSTALLS, FLEET_REPORTS, run_fleet_report

# Imported on first use, not with the package (see exporters/_lazy.py for why).
_EXPORTS = {
    "DEFAULT_MIN_INSTALLS": "reports",
    "FLEET_REPORTS": "reports",
    "run_fleet_report": "reports",
}
__all__ = ["DEFAULT_MIN_INSTALLS", "FLEET_REPORTS", "run_fleet_report"]
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
