"""``peft-telemetry status``, ``enable``, ``disable``, ``delete``, ``preview``: consent and its data.

``status`` and ``preview`` read the consent file and the event log directly (no pipeline, nothing
recorded). ``enable``, ``disable`` and ``delete`` go through the service so the config file, the consent
ledger and the erasure are exactly what the API produces.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from exporters.eventlog import schema
from telemetry.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    CliError,
    build_settings,
    format_bytes,
    format_ns,
    open_consent,
    open_event_log,
    read_consent,
    running_service,
    to_json,
    wait,
)
from telemetry.settings import CONSENT_POLICY_VERSION, TelemetrySettings

_LEDGER_SHOWN = 5
# The table name comes from the schema module (an allowlist), the limit is bound.
_RECENT_LEDGER = (
    f"SELECT time_ns, action, policy_version, source FROM {schema.CONSENT_LEDGER} "  # noqa: S608
    "ORDER BY time_ns DESC LIMIT ?"
)
_CONSENT_TIMEOUT_S = 15.0


# -- status ----------------------------------------------------------------------------------------------


def status(args: argparse.Namespace) -> int:
    settings = build_settings(args.home)
    report = _status_report(settings)
    if args.json:
        print(to_json(report))
        return EXIT_OK
    log, consent = report["event_log"], report["consent"]
    state = "enabled" if consent["enabled"] else "disabled"
    size = format_bytes(log["size_bytes"]) if settings.db_path.exists() else "not created yet: nothing recorded"
    lines = [
        f"Telemetry:        {state}: {consent['reason']}"
        + ("" if consent["enabled"] or consent["do_not_track"] else "; `peft-telemetry enable` turns it on"),
        f"Anonymous id:     {consent['anonymous_id'] or '- (created when telemetry is enabled)'}",
        f"Consent policy:   {consent['policy_version'] or '-'} (current {CONSENT_POLICY_VERSION})",
        f"Consent changed:  {consent['consent_changed_at'] or '-'}",
        f"Data home:        {report['home']}",
        f"Event log:        {log['path']} ({size})",
        f"Events:           {log['spans']:,} spans, {log['span_events']:,} span events, "
        f"{log['metric_points']:,} metric points",
        f"Time range:       {format_ns(log['oldest_ns'])}  ->  {format_ns(log['newest_ns'])}",
        f"Retention:        newest {report['retention']['max_events']:,} events, "
        f"at most {report['retention']['max_age_days']:g} days",
        f"Consent ledger:   {log['consent_ledger']:,} entries" + (", newest first:" if report["ledger"] else ""),
    ]
    lines += [
        f"  {format_ns(e['time_ns'])}  {e['action']:<8} policy {e['policy_version']}  via {e['source']}"
        for e in report["ledger"]
    ]
    print("\n".join(lines))
    return EXIT_OK


def _status_report(settings: TelemetrySettings) -> dict[str, Any]:
    consent = read_consent(settings)  # creates nothing: status is read-only
    record = consent.record
    changed = record.consent_changed_at
    log_stats: dict[str, Any] = {
        "path": str(settings.db_path),
        "spans": 0,
        "span_events": 0,
        "metric_points": 0,
        "consent_ledger": 0,
        "oldest_ns": None,
        "newest_ns": None,
        "size_bytes": 0,
    }
    ledger: list[dict[str, Any]] = []
    # A home that never recorded anything has no database yet; status must not create one.
    if settings.db_path.exists():
        log = open_event_log(settings)
        try:
            stats = log.stats()
            with log.reader() as cur:
                rows = cur.execute(_RECENT_LEDGER, [_LEDGER_SHOWN]).fetchall()
        finally:
            log.close()
        log_stats.update(stats.model_dump(exclude={"schema_version"}))
        ledger = [dict(zip(("time_ns", "action", "policy_version", "source"), row, strict=True)) for row in rows]
    return {
        "consent": {
            "enabled": consent.enabled,
            "user_choice": consent.user_choice,
            "do_not_track": consent.do_not_track,
            "reason": consent.reason,
            "anonymous_id": consent.anonymous_id,
            "policy_version": record.policy_version,
            "current_policy_version": CONSENT_POLICY_VERSION,
            "consent_changed_at": changed.isoformat() if changed else None,
        },
        "home": str(settings.home),
        "event_log": log_stats,
        "retention": {"max_events": settings.max_events, "max_age_days": settings.max_age_days},
        "ledger": ledger,
    }


# -- enable / disable ------------------------------------------------------------------------------------


def enable(args: argparse.Namespace) -> int:
    settings = build_settings(args.home)
    with running_service(settings) as service:
        wait(service.enable(source="cli"), "recording consent", _CONSENT_TIMEOUT_S)
        anon_id, effective = service.anonymous_user_id, service.is_enabled()
    print(f"Telemetry enabled. Anonymous id {anon_id}; data stays on this machine in {settings.home}.")
    if not effective:
        print(
            "peft-telemetry: note: DO_NOT_TRACK is set, so nothing is recorded while it is "
            "(your choice is saved for when it is not)",
            file=sys.stderr,
        )
    return EXIT_OK


def disable(args: argparse.Namespace) -> int:
    settings = build_settings(args.home)
    with running_service(settings) as service:
        wait(service.disable(source="cli"), "recording consent", _CONSENT_TIMEOUT_S)
    print("Telemetry disabled. Nothing more is recorded; `peft-telemetry delete` erases what was.")
    return EXIT_OK


# -- delete ----------------------------------------------------------------------------------------------


def delete(args: argparse.Namespace) -> int:
    settings = build_settings(args.home)
    if not args.yes and not _confirm(settings):
        print("Nothing deleted.", file=sys.stderr)
        return EXIT_ERROR
    with running_service(settings) as service:
        wait(service.delete_all(), "erasing the event log", settings.lock_timeout_s + 60.0)
        anon_id = service.anonymous_user_id
    print(f"All recorded telemetry erased. New anonymous id {anon_id}; your consent choice is unchanged.")
    return EXIT_OK


def _confirm(settings: TelemetrySettings) -> bool:
    """Ask on the terminal; a closed or non-interactive stdin answers no (scripts pass --yes)."""
    print(
        f"Erase all recorded telemetry in {settings.home} and start a new anonymous id? [y/N] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    try:
        answer = sys.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    if not answer:
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


# -- preview ---------------------------------------------------------------------------------------------


def preview(args: argparse.Namespace) -> int:
    """Show what would be stored for one event, after anonymization, without storing anything."""
    from processors.anonymizer import Anonymizer, PrivacyPolicy
    from telemetry.catalog import default_catalog

    text = sys.stdin.read() if args.event == "-" else args.event
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise CliError('preview needs one JSON object, e.g. \'{"event_type": "x", "properties": {}}\'') from None
    if not isinstance(event, dict):
        raise CliError("preview needs a JSON object, not a JSON " + type(event).__name__)
    settings = build_settings(args.home)
    consent = open_consent(settings)
    anonymizer = Anonymizer(
        PrivacyPolicy(
            extra_denied_keys=settings.extra_denied_keys,
            extra_patterns=settings.extra_patterns,
            allowlist_keys=settings.allowlist_keys,
        ),
        secret=consent.secret,
        catalog=default_catalog().declarations(),
    )
    print(to_json(anonymizer.preview(event)))
    if not consent.enabled:
        print(
            f"peft-telemetry: note: telemetry is off: {consent.reason}; nothing would be stored now",
            file=sys.stderr,
        )
    return EXIT_OK
