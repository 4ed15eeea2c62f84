"""``peft-telemetry demo`` and ``peft-telemetry serve``: the commands that run the pipeline for a while."""

from __future__ import annotations

import argparse
import errno
import sys
import time
from typing import TYPE_CHECKING

from telemetry.cli.common import EXIT_OK, CliError, Progress, add_allow_host, build_settings, running_service

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

_FLUSH_TIMEOUT_S = 300.0
#: Top-level modules of the ``server`` extra: only their absence means "install the extra".
_SERVER_EXTRA = frozenset({"fastapi", "starlette", "uvicorn", "google", "opentelemetry", "anyio", "h11"})


def demo(args: argparse.Namespace) -> int:
    """Record a realistic workload through the public API, wait until it is written, and summarize."""
    from telemetry.demo import run_demo

    if args.events < 1:
        raise CliError("--events must be at least 1")
    if (args.days is not None and not 1 <= args.days <= 365) or args.installs < 1:
        raise CliError("--days must be 1-365 and --installs at least 1")
    settings = build_settings(args.home)
    show = not args.no_progress and sys.stderr.isatty()
    with running_service(settings) as service:
        if not service.is_enabled():
            raise CliError(
                f"telemetry is off: {service.consent.reason}; the demo records nothing without consent. "
                f"Run `peft-telemetry{_home_flag(args)} enable` first."
            )
        if args.days:
            from telemetry.demo.history import run_history

            recording = Progress("recording", None, enabled=show)
            summary = run_history(service, args.days, recording.update, seed=args.seed, installs=args.installs)
            recording.close(summary.records)
        else:
            recording = Progress("recording", args.events, enabled=show)
            summary = run_demo(service, args.events, recording.update, seed=args.seed)
            recording.close(args.events)
        _wait_written(service, summary.records, show)
        stats = service.stats()
    took = f"{summary.elapsed_s:.2f} s" if summary.elapsed_s >= 1 else f"{summary.elapsed_s * 1e3:.0f} ms"
    print(
        f"Recorded {summary.records:,} records (the app's calls took {took}; all written): "
        f"{summary.events:,} events, "
        f"{summary.errors:,} errors, {summary.performance:,} measurements, {summary.http_requests:,} API "
        f"requests ({summary.app_sessions:,} app sessions, {summary.training_runs:,} training runs)."
    )
    dropped = {
        "queue full": stats.dropped_queue_full,
        "anonymizer failed": stats.dropped_anonymizer_failed,
        "export failed": stats.dropped_export_failed,
        "consent withdrawn": stats.dropped_without_consent,
        "metric points export failed": stats.dropped_metric_points_export_failed,
    }
    if any(dropped.values()):
        why = ", ".join(f"{n:,} {reason}" for reason, n in dropped.items() if n)
        print(f"peft-telemetry: warning: the pipeline dropped records ({why})", file=sys.stderr)
    home = _home_flag(args)
    print(
        f"Next: `peft-telemetry{home} query --report summary`, then `insights`, or `serve` for the dashboard"
        + (", with the same --home." if home else ".")
    )
    return EXIT_OK


def _home_flag(args: argparse.Namespace) -> str:
    """`` --home PATH`` when the command was given one, so a suggested next command reads the same data."""
    import shlex

    home = getattr(args, "home", None)
    return f" --home {shlex.quote(str(home))}" if home else ""


def _wait_written(service: TelemetryService, submitted: int, show: bool) -> None:
    writing = Progress("writing  ", submitted, enabled=show)
    deadline = time.monotonic() + _FLUSH_TIMEOUT_S
    while service.stats().queued and time.monotonic() < deadline:
        # `processed` counts every span the pipeline handled, which can be more than the records the demo
        # submitted: shown against the submitted total, never past it.
        writing.update(min(service.stats().processed, submitted))
        time.sleep(0.1)
    if not service.flush(timeout_s=max(1.0, deadline - time.monotonic())):
        raise CliError("the demo's records were not all written in time (is the event log busy?)")
    writing.close(submitted)


def serve(args: argparse.Namespace) -> int:
    """Start the telemetry service and dashboard; blocks until interrupted."""
    if not 0 <= args.port < 65536:
        raise CliError("--port must be between 0 (any free port) and 65535")
    try:
        from telemetry.server import serve as run_server
    except ImportError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in _SERVER_EXTRA:
            raise
        raise CliError(
            f"serve needs the server extra ({missing} is missing): pip install 'peft-studio-telemetry[server]'"
        ) from None
    settings = build_settings(args.home, for_server=True)
    try:
        run_server(settings, args.host, args.port, open_browser=not args.no_browser, allowed_hosts=args.allow_host)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise CliError(
            f"port {args.port} on {args.host} is in use (another `peft-telemetry serve`?): "
            "choose another with --port N, or --port 0 for a free one"
        ) from None
    except KeyboardInterrupt:
        # Ctrl-C is how a foreground server is stopped; uvicorn has already shut down cleanly.
        pass
    print("Stopped.", file=sys.stderr)
    return EXIT_OK


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=2000, help="how many records to make (default 2000)")
    parser.add_argument("--seed", type=int, help="make the workload repeatable")
    parser.add_argument(
        "--days",
        type=int,
        help="instead: DAYS of past history from a fleet of simulated installs "
        "(rhythm, releases, a slowdown, an error burst, an A/B experiment) for the insights",
    )
    parser.add_argument("--installs", type=int, default=300, help="simulated installs with --days (default 300)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the dashboard in a browser")
    add_allow_host(parser)
