"""``peft-telemetry query --report NAME``: the analytics the dashboard and the API serve, in a terminal.

The numbers come from :mod:`analytics` (the same models the API answers with); this module only picks the
sections of the report that belong to each name and prints them as tables, JSON or CSV. JSON is the
pydantic models' own dump, so a script sees the same shape as ``POST /api/telemetry/analytics``.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import BaseModel

from telemetry.cli.common import CliError, format_ns, open_event_log, render_csv, render_table, to_json

if TYPE_CHECKING:
    from telemetry.settings import TelemetrySettings

#: Report name -> the sections of ``AnalyticsReport`` it shows, the main one first (CSV prints that one).
REPORTS: dict[str, tuple[str, ...]] = {
    "summary": ("totals", "event_breakdown", "performance", "errors_by_type", "sessions", "redactions"),
    "events": ("event_breakdown", "events_over_time"),
    "performance": ("performance", "api_response_times", "slowest_distribution"),
    "errors": ("errors_by_type",),
    "sessions": ("sessions",),
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_when(text: str, flag: str) -> int:
    """``30m``, ``24h``, ``7d``, ``2w`` (that long ago) or an ISO 8601 date/time (UTC unless it says) as
    nanoseconds since the epoch."""
    match = _DURATION.match(text)
    if match:
        seconds = float(match.group(1)) * _UNIT_S[match.group(2).lower()]
        return time.time_ns() - int(seconds * 1e9)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{flag} takes a duration such as 30m, 24h or 7d, or an ISO 8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1e9)


def run_report(args: argparse.Namespace, settings: TelemetrySettings) -> str:
    """The report named by ``args.report``, formatted as ``args.format``."""
    from analytics import Analytics, AnalyticsFilter

    start_ns = parse_when(args.since, "--since") if args.since else None
    end_ns = parse_when(args.until, "--until") if args.until else None
    if start_ns is not None and end_ns is not None and start_ns >= end_ns:
        raise CliError("--since must be before --until")
    sections = REPORTS[args.report]
    try:
        flt = AnalyticsFilter(
            start_ns=start_ns, end_ns=end_ns, event_types=args.event_types or None, session_id=args.session
        )
    except ValueError as exc:
        raise CliError(f"invalid report filter: {_first_error(exc)}") from None
    log = open_event_log(settings)
    try:
        report = Analytics(log.reader).report(flt)
    finally:
        log.close()
    parts = {name: getattr(report, name) for name in sections}
    if args.format == "json":
        if args.report == "summary":
            return to_json(report.model_dump(mode="json"))
        return to_json({name: _plain(value) for name, value in parts.items()})
    if args.format == "csv":
        columns, rows, _ = _tabular(parts[sections[0]], human=False)
        return render_csv(columns, rows).rstrip("\n")
    return "\n\n".join(_section(name, value) for name, value in parts.items())


def _first_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            where = ".".join(str(p) for p in found[0].get("loc", ()))
            return f"{where}: {found[0].get('msg', '')}".strip(": ")
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _tabular(value: Any, human: bool = True) -> tuple[list[str], list[Sequence[Any]], str]:
    """Columns, rows and a caption for one section. A list of models becomes a table; a model holding one
    list of models (time buckets, histogram bins) becomes that table, its other fields the caption; any
    other model becomes name/value pairs. ``human`` shows times as dates (tables); CSV keeps raw numbers."""
    plain = _plain(value)
    if isinstance(plain, dict) and all(v is None or v == [] for v in plain.values()):
        return [], [], ""  # nothing to show (a distribution of no metric): "(none)", not a column of NULLs
    if isinstance(plain, dict):
        lists = [k for k, v in plain.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            caption = ", ".join(f"{k}: {_shown(k, v, human)}" for k, v in plain.items() if k != lists[0])
            columns, rows, _ = _tabular(plain[lists[0]], human)
            return columns, rows, caption
        return ["name", "value"], [[k, _shown(k, v, human)] for k, v in plain.items()], ""
    if isinstance(plain, list):
        if not plain:
            return [], [], ""
        if all(isinstance(item, dict) for item in plain):
            keys: list[str] = []
            for item in plain:
                keys += [k for k in item if k not in keys]
            return keys, [[_shown(k, item.get(k), human) for k in keys] for item in plain], ""
        return ["value"], [[_shown("", item, human)] for item in plain], ""
    return ["value"], [[plain]], ""


def _shown(key: str, value: Any, human: bool) -> Any:
    """Times readable (if ``human``), nested values as compact JSON; everything else as it is."""
    if human and isinstance(value, int) and not isinstance(value, bool) and key.endswith("_ns"):
        return f"{value / 1e9:g} s" if key == "bucket_ns" else format_ns(value)
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def _section(name: str, value: Any) -> str:
    columns, rows, caption = _tabular(value)
    title = name.replace("_", " ").capitalize() + (f" ({caption})" if caption else "")
    if not rows:
        return f"{title}\n(none)"
    return f"{title}\n{render_table(columns, rows)}"
