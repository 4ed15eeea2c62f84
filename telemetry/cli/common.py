"""What every ``peft-telemetry`` command shares: settings, the read-only openers, errors, progress, output.

Commands that only read (status, query, export) open the consent file and the event log directly and
never build the pipeline: no tracer, no worker threads, no metric reader. Commands that change something
(enable, disable, delete, demo) go through :class:`~telemetry.service.TelemetryService`, so the ledger
entries and the erasure are exactly what the API does.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from telemetry.consent import ConsentRecord, ConsentStore
from telemetry.settings import CONSENT_POLICY_VERSION, TelemetrySettings, TelemetrySettingsError

if TYPE_CHECKING:
    from exporters.eventlog import EventLog
    from telemetry.service import TelemetryService

#: Exit codes scripts can rely on.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

#: The CLI waits this long for its own last writes when it shuts its service down.
SHUTDOWN_TIMEOUT_S = 5.0


class CliError(Exception):
    """A failure to report as one line on stderr, exit code 1. The message must never quote user data."""


#: DuckDB memory_limit for `serve` unless the user chose one (PEFT_TELEMETRY_DB_MEMORY_LIMIT).
SERVER_DB_MEMORY_LIMIT = "128MB"


def allowed_host(text: str) -> str:
    """The argparse type of ``--allow-host``: a host name or an IP address, normalized as a Host header is."""
    try:
        from telemetry.server.security import configured_host  # the server extra: only when the flag is given
    except ImportError:
        raise argparse.ArgumentTypeError(
            "needs the server extra: pip install 'peft-studio-telemetry[server]'"
        ) from None
    name = configured_host(text)
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not a host name or an IP address")
    return name


def add_allow_host(parser: argparse.ArgumentParser) -> None:
    """``--allow-host NAME`` (repeatable) for the commands that serve the dashboard page."""
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        type=allowed_host,
        metavar="NAME",
        help="a Host name or IP address the page may also be opened by (repeatable), e.g. this machine's "
        "address with --host 0.0.0.0; the token is still needed",
    )


def build_settings(home: str | None, *, for_server: bool = False) -> TelemetrySettings:
    """Settings for a CLI run: the given home (else ``PEFT_STUDIO_HOME``, else the default). A short
    command never installs the OTel globals and samples no CPU/memory (a CLI's own resource use is not
    PEFT Studio's); ``serve`` is a long-running service and keeps the user's settings for both."""
    options: dict[str, Any] = {} if for_server else {"install_global": False, "sample_resources": False}
    if home is not None:
        if not home.strip():
            raise CliError("--home must name a folder")
        options["home"] = Path(home)
    try:
        settings = TelemetrySettings(**options)
    except TelemetrySettingsError as exc:
        # Names the variable and the form it wants, never the value.
        raise CliError(f"invalid setting {exc}") from None
    if for_server and "db_memory_limit" not in settings.model_fields_set:
        # The server is not a host app: it answers analytics over up to a million rows, faster with
        # a larger buffer cache (bench/README.md) than the library's default.
        settings = settings.model_copy(update={"db_memory_limit": SERVER_DB_MEMORY_LIMIT})
    return settings


def open_consent(settings: TelemetrySettings) -> ConsentStore:
    """The consent store alone: reads the config file (creating the install secret on first use)."""
    try:
        return ConsentStore(
            settings.config_path,
            settings.secret_path,
            do_not_track=settings.do_not_track,
            policy_version=CONSENT_POLICY_VERSION,
        )
    except OSError as exc:
        raise CliError(f"cannot read the config folder {settings.config_dir} ({type(exc).__name__})") from None


@dataclass(frozen=True)
class ConsentView:
    """Consent as a read-only command sees it, for a home where nothing was set up yet."""

    record: ConsentRecord
    do_not_track: bool
    anonymous_id: str | None = None

    @property
    def user_choice(self) -> bool:
        return self.record.enabled

    @property
    def enabled(self) -> bool:
        return self.record.enabled and not self.do_not_track

    @property
    def reason(self) -> str:
        if self.do_not_track:
            return "DO_NOT_TRACK is set"
        return "enabled in the config file" if self.record.enabled else "not enabled (the default)"


def read_consent(settings: TelemetrySettings) -> ConsentStore | ConsentView:
    """Consent for a read-only command. A home without its config file and install secret is read as
    "never enabled" and left as it is: no folder, config or secret is created (they are made on enable)."""
    if settings.config_path.exists() and settings.secret_path.exists():
        return open_consent(settings)
    record = ConsentRecord()
    if settings.config_path.exists():
        try:
            record = ConsentRecord.model_validate_json(settings.config_path.read_bytes())
        except (OSError, ValueError):
            record = ConsentRecord()
    return ConsentView(record.model_copy(update={"anonymous_id": None}), settings.do_not_track)


def open_event_log(settings: TelemetrySettings) -> EventLog:
    """The event log alone, with the same limits the service uses, for reading. Opening is lazy: nothing
    touches the file until the first read, and every read is a short hold of the shared lock.

    Every caller only reads (status, query, export, reports), so a home that has no event log yet is not
    created: the commands read an empty log in a temporary folder instead, removed on ``close()``."""
    from exporters.eventlog import EventLog

    options: dict[str, Any] = {
        "max_events": settings.max_events,
        "max_age_days": settings.max_age_days,
        "memory_limit": settings.db_memory_limit,
        "lock_timeout_s": settings.lock_timeout_s,
    }
    if settings.db_path.exists():
        return EventLog(settings.db_path, **options)

    class EmptyEventLog(EventLog):
        def close(self) -> None:
            try:
                super().close()
            finally:
                shutil.rmtree(self.path.parent, ignore_errors=True)

    return EmptyEventLog(Path(tempfile.mkdtemp(prefix="peft-telemetry-empty-")) / "events.duckdb", **options)


@contextmanager
def running_service(settings: TelemetrySettings) -> Iterator[TelemetryService]:
    """A service for one command, shut down at the end within :data:`SHUTDOWN_TIMEOUT_S`."""
    from telemetry.service import TelemetryService

    service = TelemetryService(settings)
    try:
        yield service
    finally:
        if not service.shutdown(timeout=SHUTDOWN_TIMEOUT_S):
            print("peft-telemetry: warning: some records may not have been written in time", file=sys.stderr)


def wait(future: Any, what: str, timeout_s: float) -> Any:
    """The result of a service future, or a one-line :class:`CliError`."""
    try:
        return future.result(timeout_s)
    except TimeoutError:
        raise CliError(f"{what} did not finish within {timeout_s:g} s (is the disk or the event log busy?)") from None


# -- formatting ------------------------------------------------------------------------------------------


def format_ns(ns: int | None) -> str:
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def cell(value: Any) -> str:
    """A value as table text: NULL spelt out, floats short, long text cut."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | dict | tuple):
        return orjson.dumps(value, default=str).decode()
    return str(value)


def render_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], max_width: int = 60) -> str:
    """A plain aligned text table (numbers right-aligned), values cut at ``max_width`` characters."""
    texts = [[_cut(cell(v), max_width) for v in row] for row in rows]
    numeric = [all(_is_number(row[i]) for row in texts if row[i] != "NULL") for i in range(len(columns))]
    widths = [max([len(c)] + [len(row[i]) for row in texts]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [line(list(columns)), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in texts)
    return "\n".join(out)


def _cut(text: str, width: int) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def to_json(value: Any) -> str:
    """JSON text for scripts: non-finite floats become null (never NaN), datetimes ISO 8601."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()


def render_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else cell(v) for v in row])
    return buffer.getvalue()


# -- progress --------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on stderr, redrawn in place at most ten times a second.

    Silent unless ``enabled`` (the CLI passes "stderr is a terminal and --no-progress was not given"), so
    pipes, logs and tests get clean output.
    """

    WIDTH = 30

    def __init__(self, label: str, total: int | None, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._last_draw = 0.0
        self._drawn = False
        self._started = time.monotonic()

    def update(self, done: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        self.stream.write("\r" + self._line(done) + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def _line(self, done: int) -> str:
        elapsed = time.monotonic() - self._started
        if self.total:
            done = min(done, self.total)  # a counter that runs past its total would read 103%
            fraction = min(max(done / self.total, 0.0), 1.0)
            filled = int(fraction * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            return f"{self.label} [{bar}] {fraction:4.0%}  {done:,}/{self.total:,}  {elapsed:.1f}s"
        return f"{self.label} {done:,}  {elapsed:.1f}s"

    def close(self, done: int | None = None) -> None:
        if not self.enabled:
            return
        if done is not None:
            self.update(done, force=True)
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
