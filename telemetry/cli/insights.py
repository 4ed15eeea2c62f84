"""``peft-telemetry insights``: trends, anomalies, performance regressions, usage heatmaps and experiments.

The numbers come from :mod:`analytics.insights` (the models ``POST /api/telemetry/insights`` answers
with). With ``--lake DIR`` the report covers a fleet lake instead (:mod:`analytics.fleet.insights`, on
``--engine duckdb`` or ``spark``), every group of fewer than ``--min-installs`` installs left out.

``--format json`` prints the report itself: top-level keys ``trends``, ``anomalies``,
``regressions``, ``heatmap``, ``experiments``. ``--format table`` prints one readable section each.

>>> main(["insights", "--since", "28d", "--format", "json"])
0
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telemetry.cli.common import EXIT_OK, CliError, build_settings, format_ns, open_event_log, render_table, to_json
from telemetry.cli.hub import check_lake, check_spark_master, spark_failure
from telemetry.cli.reports import _first_error, parse_when

if TYPE_CHECKING:
    from analytics.insights import InsightsReport

_SHADES = " .:-=+*#%@"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format (table)")
    parser.add_argument("--since", help="only spans since: 7d, 24h, 2w, or an ISO 8601 date (UTC)")
    parser.add_argument("--until", help="only spans before: a duration ago or an ISO 8601 date (UTC)")
    parser.add_argument("--goal", action="append", dest="goals", metavar="EVENT_TYPE",
                        help="experiment goal event type (repeatable; default: the most frequent ones)")  # fmt: skip
    parser.add_argument("--metric", action="append", dest="metrics", metavar="NAME",
                        help="experiment metric name (repeatable; default: the most frequent ones)")  # fmt: skip
    parser.add_argument("--alpha", type=float, default=0.01, help="significance level of every flag (0.01)")
    from telemetry.cli.hub import add_query_arguments

    add_query_arguments(parser)  # --lake, --engine, --spark-master, --min-installs: as `query --lake`


def insights(args: argparse.Namespace) -> int:
    """Compute the insights report over the event log and print it."""
    from analytics.insights import Insights, InsightsFilter

    settings = build_settings(args.home)
    since = _moment(args.since, "--since")
    until = _moment(args.until, "--until")
    try:
        f = InsightsFilter(since=since, until=until, goals=args.goals, metrics=args.metrics, alpha=args.alpha)
    except ValueError as exc:
        raise CliError(f"invalid insights filter: {_first_error(exc)}") from None
    if getattr(args, "lake", None):
        report = _lake_report(args, f)
    elif args.engine != "duckdb" or args.spark_master:
        raise CliError("--engine and --spark-master work on a fleet lake: add --lake DIR")
    elif not settings.db_path.exists():
        report = Insights(_empty_log).report(f)  # nothing recorded yet: a read creates no file
    else:
        log = open_event_log(settings)
        try:
            report = Insights(log.reader).report(f)
        finally:
            log.close()
    print(to_json(report.model_dump(mode="json")) if args.format == "json" else render(report))
    return EXIT_OK


def _lake_report(args: argparse.Namespace, f: Any) -> InsightsReport:
    """``insights --lake DIR``: the fleet report, checked arguments first (a clear error, never a traceback)."""
    from pathlib import Path

    if args.min_installs < 1:
        raise CliError("--min-installs must be >= 1")
    check_spark_master(args)
    lake = Path(args.lake)
    check_lake(lake)
    from analytics.fleet.insights import fleet_insights

    try:
        return fleet_insights(
            lake, f, engine=args.engine, min_installs=args.min_installs, spark_master=args.spark_master
        )
    except ImportError as exc:
        raise CliError(f"--engine {args.engine} needs the fleet extra: pip install 'peft-studio-telemetry[fleet]' "
                       f"({exc.name} is missing)") from None  # fmt: skip
    except Exception as exc:
        failure = spark_failure(exc, args)
        if failure is None:
            raise
        raise failure from None


@contextmanager
def _empty_log() -> Iterator[Any]:
    """An empty event log in memory, with the real schema: the report of a home where nothing was recorded."""
    import duckdb

    from exporters.eventlog.migrate import migrate

    con = duckdb.connect(":memory:")
    try:
        migrate(con)
        yield con
    finally:
        con.close()


def _moment(text: str | None, flag: str) -> datetime | None:
    return None if not text else datetime.fromtimestamp(parse_when(text, flag) / 1e9, UTC)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.1f}%"


def _num(x: float | None, spec: str) -> str:
    return "unbounded" if x is None else format(x, spec)


def _table(title: str, columns: list[str], rows: list[list[Any]], note: str = "") -> str:
    head = title + (f" ({note})" if note else "")
    return f"{head}\n(none)" if not rows else f"{head}\n{render_table(columns, rows)}"


def render(report: InsightsReport) -> str:
    """The report as readable text sections."""
    reg, an, tr, hm, ex = report.regressions, report.anomalies, report.trends, report.heatmap, report.experiments
    parts = [
        _table(
            "Performance regressions",
            ["series", "kind", "version", "began", "p50 before", "p50 after", "p95 before", "p95 after", "change", "p"],
            [[r.series, r.kind, f"{r.previous_version or '?'} -> {r.version or '?'}", format_ns(r.change_ns),
              round(r.before_p50, 3), round(r.after_p50, 3), round(r.before_p95, 3), round(r.after_p95, 3),
              _pct(r.relative_change), f"{r.p_value:.2g}"] for r in reg.items],
            f"{reg.series_examined} series examined",
        ),
        _table(
            "Anomalies",
            ["series", "measure", "date", "day", "hour (UTC)", "observed", "expected", "score", "p"],
            [[a.series, a.measure, a.date, a.day_of_week, a.hour, a.observed, round(a.expected, 1), a.score,
              f"{a.p_value:.2g}"] for a in an.items],
            f"{an.series_examined} series x hours judged: {an.hours_examined:,}",
        ),
        _table(
            "Trends",
            ["series", "direction", "earlier/day", "recent/day", "change", "95% CI of ratio", "p"],
            [[t.series, "rising" if t in tr.rising else "falling", t.earlier_per_day, t.recent_per_day,
              "new" if t.change_pct is None else f"{t.change_pct:+.0f}%",
              f"{t.ratio_ci_low:.2f}..{_num(t.ratio_ci_high, '.2f')}", f"{t.p_value:.2g}"]
             for t in [*tr.rising, *tr.falling]],
            f"last {tr.recent_days:g} days vs the {tr.earlier_days:g} before; {tr.series_tested} event types tested",
        ),
        _heatmap(report),
        _table(
            "Feature x app version (share of each version's events)",
            ["feature", *hm.versions],
            _feature_rows(report),
        ),
        *(_experiment(e) for e in ex.items),
    ]  # fmt: skip
    if not ex.items:
        parts.append("Experiments\n(none recorded)")
    if report.min_installs is not None:
        left_out = ", ".join(f"{name}: {n}" for name, n in report.suppressed.items() if n) or "none"
        parts.append(f"Left out (fewer than {report.min_installs} installs): {left_out}")
    return "\n\n".join(parts)


def _heatmap(report: InsightsReport) -> str:
    cells = report.heatmap.hour_of_week
    top = max((c.count for c in cells), default=0)
    if top == 0:
        return "Usage by hour (UTC) x day of week\n(no events)"
    lines = [
        "Usage by hour (UTC) x day of week (darker = more events)",
        "     " + "".join(f"{h:<3}" for h in range(24)),
    ]
    from analytics.insights.models import DAYS

    for day in range(7):
        row = [c.count for c in cells if c.day_of_week == day]
        lines.append(f"{DAYS[day]}  " + "".join(_SHADES[min(9, round(9 * n / top))] * 2 + " " for n in row))
    return "\n".join(lines)


def _feature_rows(report: InsightsReport) -> list[list[Any]]:
    hm = report.heatmap
    share = {(c.feature, c.version): c.share for c in hm.feature_by_version}
    return [[f, *(f"{share.get((f, v), 0.0) * 100:.1f}%" for v in hm.versions)] for f in hm.features[:15]]


def _experiment(e: Any) -> str:
    lines = [f"Experiment {e.series}: {e.units} units; SRM p = "
             f"{'-' if e.srm_p_value is None else f'{e.srm_p_value:.3g}'}" + (" (FLAGGED)" if e.srm_flagged else ""),
             e.message,
             render_table(["variant", "units", "expected", "observed"],
                          [[v.variant, v.units, f"{v.expected_share:.1%}", f"{v.observed_share:.1%}"]
                           for v in e.variants])]  # fmt: skip
    for g in e.goals:
        lines.append(f"goal {g.goal}:")
        lines.append(render_table(
            ["variant", "units", "converted", "rate", "95% CI", "diff vs control", "p"],
            [[v.variant, v.units, v.conversions, f"{v.rate:.1%}", f"{v.ci_low:.1%}..{v.ci_high:.1%}",
              "-" if v.diff is None else f"{v.diff:+.1%} ({v.diff_ci_low:+.1%}..{v.diff_ci_high:+.1%})",
              "-" if v.p_value is None else f"{v.p_value:.2g}"] for v in g.variants]))  # fmt: skip
    for m in e.metrics:
        lines.append(f"metric {m.metric} ({m.unit or '-'}), mean per unit:")
        lines.append(render_table(
            ["variant", "units", "mean", "95% CI", "diff vs control", "p"],
            [[v.variant, v.units, round(v.mean, 3), f"{_num(v.ci_low, '.4g')}..{_num(v.ci_high, '.4g')}",
              "-" if v.diff is None else f"{v.diff:+.4g} ({v.diff_ci_low:+.4g}..{v.diff_ci_high:+.4g})",
              "-" if v.p_value is None else f"{v.p_value:.2g}"] for v in m.variants]))  # fmt: skip
    return "\n".join(lines)
