"""``peft-telemetry``: everything the dashboard does, from a terminal, scriptable.

Exit codes: 0 success, 1 error (one line on stderr, never a traceback), 2 usage error (argparse's message).
Every command takes ``--home PATH`` (else ``PEFT_STUDIO_HOME``, else ``~/.peft-studio``) and works while
the service or the app is running: the event log is opened briefly under a file lock, never held.

>>> main(["status", "--home", "/tmp/peft-home"])
0
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from telemetry.cli import consent as cli_consent
from telemetry.cli import export as cli_export
from telemetry.cli import hub as cli_hub
from telemetry.cli import insights as cli_insights
from telemetry.cli import query as cli_query
from telemetry.cli import run as cli_run
from telemetry.cli import share as cli_share
from telemetry.cli.common import EXIT_ERROR, EXIT_USAGE, CliError

_EPILOG = """\
examples:
  peft-telemetry status
  peft-telemetry enable
  peft-telemetry demo --events 2000
  peft-telemetry query --report summary
  peft-telemetry insights --since 28d
  peft-telemetry query "SELECT event_type, count(*) FROM spans GROUP BY ALL ORDER BY 2 DESC"
  peft-telemetry export --format otlp-json --output telemetry.jsonl
  peft-telemetry preview '{"event_type": "model_loaded", "properties": {"email": "a@b.c"}}'
  peft-telemetry delete --yes

exit codes: 0 ok, 1 error, 2 usage error. Environment: PEFT_STUDIO_HOME (data home), DO_NOT_TRACK=1
(forces telemetry off), PEFT_TELEMETRY_* (every other setting)."""

Handler = Callable[[argparse.Namespace], int]

# name -> (handler, one-line help, description, extra arguments)
_COMMANDS: dict[str, tuple[Handler, str, str, Callable[[argparse.ArgumentParser], object] | None]] = {
    "status": (
        cli_consent.status,
        "consent state, anonymous id, data home, event counts, retention",
        "Show whether telemetry is on and why (the config file, or DO_NOT_TRACK), the anonymous id, where "
        "data lives, how much is stored (events, oldest and newest), the retention limits, and the newest "
        "entries of the consent ledger. Reads only; nothing is recorded.",
        lambda p: p.add_argument("--json", action="store_true", help="print one JSON object for scripts"),
    ),
    "enable": (
        cli_consent.enable,
        "give consent: start recording (anonymized, on this machine only)",
        "Record your consent in the config file and in the consent ledger of the event log, under the "
        "current policy version. DO_NOT_TRACK still wins while it is set.",
        None,
    ),
    "disable": (
        cli_consent.disable,
        "withdraw consent: stop recording",
        "Record that consent is withdrawn (config file and consent ledger). What was recorded stays until "
        "`peft-telemetry delete`.",
        None,
    ),
    "preview": (
        cli_consent.preview,
        "show what would be stored for an event, after anonymization",
        "Run one event through the anonymizer and print what would be stored, without storing it. EVENT is a "
        'JSON object such as \'{"event_type": "model_loaded", "properties": {"model_name": "llama-2-7b"}}\', '
        "or '-' to read it from stdin.",
        lambda p: p.add_argument("event", help="the event as a JSON object, or '-' for stdin"),
    ),
    "query": (
        cli_query.query,
        "read-only SQL over the event log, or a named analytics report",
        "Run one read-only SQL statement over the event log (SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW, "
        "SUMMARIZE; external file access is off; the statement runs in a transaction that is rolled back), "
        "or print a named report: the same analytics the dashboard shows.",
        cli_query.add_arguments,
    ),
    "insights": (
        cli_insights.insights,
        "trends, anomalies, performance regressions, usage heatmaps, experiments",
        "Compute insights over the event log: event types rising or falling, hours that left their usual "
        "rhythm, durations that got slower (with the app version where it began), usage by hour and day "
        "(UTC) and by app version, and A/B experiment results. --format json prints the document the "
        "API returns (keys trends, anomalies, regressions, heatmap, experiments).",
        cli_insights.add_arguments,
    ),
    "export": (
        cli_export.export,
        "export everything as OTLP JSON Lines, Parquet or CSV",
        "Export the event log. otlp-json writes one OTLP/JSON Lines file (hex ids, as OpenTelemetry's file "
        "exporter); parquet and csv write one file per table (spans, span_events, metric_points, "
        "consent_ledger, resources) into the --output folder.",
        cli_export.add_arguments,
    ),
    "delete": (
        cli_consent.delete,
        "erase all recorded telemetry and start a new anonymous id",
        "Erase the event log so that no byte of recorded data remains (database, write-ahead log, spill "
        "files), and rotate the anonymous id. Your consent choice is kept. Asks first unless --yes.",
        lambda p: p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation"),
    ),
    "demo": (
        cli_run.demo,
        "record a realistic PEFT Studio workload (needs consent)",
        "Record a realistic PEFT Studio workload through the public API: app sessions, model loads, LoRA and "
        "QLoRA training runs, out-of-memory errors with stack traces, API timings. Needs consent; run "
        "`peft-telemetry enable` first. Everything passes the anonymizer like real data.",
        cli_run.add_demo_arguments,
    ),
    "serve": (
        cli_run.serve,
        "start the local telemetry service and dashboard",
        "Start the telemetry REST API, OTLP receiver and dashboard on this machine (127.0.0.1:8000 unless "
        "told otherwise) and open the dashboard in a browser. Stops on Ctrl-C.",
        cli_run.add_serve_arguments,
    ),
    "hub": (
        cli_hub.hub,
        "run a fleet hub: receive what installs share, write a Parquet lake",
        "Receive OTLP/HTTP from installs that share (re-anonymizing every span) and write a Parquet lake "
        "partitioned by day. Prints the endpoint URL installs share to (`share enable --endpoint URL`). "
        "Report over the lake with `peft-telemetry query --lake DIR --report summary|fleet`. The hub keeps its "
        "state in the lake (credential, dashboard token); --home is not used.",
        cli_hub.add_arguments,
    ),
    "share": (
        cli_share.share,
        "share anonymized telemetry with a fleet hub (a second, separate consent)",
        "Sharing is off by default and possible only while recording is on. `share enable --endpoint URL` "
        "sends what is recorded from now on (already anonymized) to the hub at URL; `share disable` stops it "
        "before the next batch (`--delete` also asks the hub to delete everything this install shared). "
        "Every change enters the consent ledger.",
        cli_share.add_arguments,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    # --home is accepted before or after the command; on subcommands it only overrides when given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home", default=argparse.SUPPRESS, metavar="PATH",
        help="data home (default: $PEFT_STUDIO_HOME or ~/.peft-studio)",
    )  # fmt: skip
    parser = argparse.ArgumentParser(
        prog="peft-telemetry",
        description="Local-first, opt-in, anonymized telemetry of PEFT Studio: consent, data, export, dashboard;\n"
        "and, with a second consent, sharing with an organisation's fleet hub.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--home",
        default=None,
        metavar="PATH",
        help="data home (default: $PEFT_STUDIO_HOME or ~/.peft-studio)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (handler, short, description, add_arguments) in _COMMANDS.items():
        sub = commands.add_parser(name, help=short, description=description, parents=[common])
        if add_arguments is not None:
            add_arguments(sub)
        sub.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 error, 2 usage)."""
    _configure_logging()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed why
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(args)
    except CliError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return _fail("interrupted", code=130)
    except BrokenPipeError:
        # The reader (head, less) went away: not an error worth a message.
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:
        return _fail(_describe(exc))


def _describe(exc: BaseException) -> str:
    from exporters.eventlog import EventLogError, EventLogLockTimeout

    if isinstance(exc, EventLogLockTimeout):
        return f"the event log stayed busy too long ({exc}); try again or raise PEFT_TELEMETRY_LOCK_TIMEOUT_S"
    if isinstance(exc, EventLogError):
        return f"event log: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _fail(message: str, *, code: int = EXIT_ERROR) -> int:
    print(f"peft-telemetry: error: {message}", file=sys.stderr)
    return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


class _OneLine(logging.Formatter):
    """Log records as one line each: the message only, never an attached traceback."""

    def format(self, record: logging.LogRecord) -> str:
        lines = record.getMessage().splitlines()
        return "peft-telemetry: " + (lines[0] if lines else record.levelname.lower())


def _configure_logging() -> None:
    # The library logs through `logging`; a command shows its warnings as single lines on stderr.
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_OneLine())
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
