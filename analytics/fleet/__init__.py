"""Fleet analytics: the reports over the lake many installs share into, on DuckDB or Spark.

Each report is written once, as SQL over the view ``lake_spans`` (one row per shared span), in the subset
of DuckDB SQL that ``sqlglot`` transpiles to Spark SQL (:mod:`analytics.fleet.reports`). Every group a
report shows (a breakdown row, a version, an OS, a day) is backed by at least ``min_installs`` distinct
installs, or it is left out and counted in ``suppressed``: the same SQL, so the same rule, on every engine.

Example::

    from analytics.fleet import run_fleet_report
    answer = run_fleet_report(Path("/srv/lake"), "summary", engine="duckdb", min_installs=5)
"""

from .reports import DEFAULT_MIN_INSTALLS, FLEET_REPORTS, run_fleet_report

__all__ = ["DEFAULT_MIN_INSTALLS", "FLEET_REPORTS", "run_fleet_report"]
