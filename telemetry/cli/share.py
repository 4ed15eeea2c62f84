"""``peft-telemetry share status|enable|disable``: the second consent, sharing with a fleet hub."""

from __future__ import annotations

import argparse

from telemetry.cli.common import EXIT_OK, CliError, build_settings, format_ns, open_consent, running_service, to_json


def share(args: argparse.Namespace) -> int:
    settings = build_settings(args.home)
    if args.action == "status":
        from telemetry.sharing import status_of

        report = status_of(open_consent(settings), settings.data_dir)
    else:
        from telemetry.sharing import ShareError, disable_sharing, enable_sharing

        with running_service(settings) as service:
            try:
                if args.action == "enable":
                    if not args.endpoint:
                        raise CliError("share enable needs --endpoint URL (printed by `peft-telemetry hub`)")
                    report = enable_sharing(service, args.endpoint, source="cli")
                else:
                    report = disable_sharing(service, delete=args.delete, source="cli")
            except ShareError as exc:
                raise CliError(str(exc)) from None
    if args.json:
        print(to_json(report))
        return EXIT_OK
    state = "on" if report["sharing"] else "off"
    why = "" if report["sharing"] or not report["agreed"] else " (local recording is off)"
    lines = [
        f"Sharing:            {state}{why}",
        f"Endpoint:           {report['endpoint'] or '-'}",
        f"Since:              {format_ns(report['since_ns']) if report['agreed'] else '-'}",
        f"Sent:               {report['sent_spans']:,} spans in {report['sent_batches']:,} "
        f"batch{'' if report['sent_batches'] == 1 else 'es'}, "
        f"{report['sent_points']:,} metric points, last {format_ns(report['last_sent_ns'])}",
        f"Deletions:          {len(report['confirmed_deletions'])} confirmed, {report['pending_deletions']} pending",
    ]
    if report["sharing"]:
        # Nothing is sent by this command: a newcomer watching "Sent: 0" needs to know what sends.
        lines.append(
            "Sent by:            a running process of this data home (your app, or `peft-telemetry serve`), "
            "a few seconds after events are written"
        )
    print("\n".join(lines))
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("status", "enable", "disable"), help="what to do")
    parser.add_argument("--endpoint", metavar="URL", help="enable: the URL `peft-telemetry hub` printed")
    parser.add_argument(
        "--delete", action="store_true", help="disable: also ask the hub to delete everything this install shared"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")
