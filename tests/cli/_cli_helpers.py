"""Helpers for the CLI tests: run the real ``peft-telemetry`` console script in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from exporters.eventlog import schema

REPO = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("peft-telemetry")


def command() -> list[str]:
    """The installed console script when there is one, else the module (same ``main``)."""
    if _SCRIPT.exists():
        return [str(_SCRIPT)]
    return [sys.executable, "-m", "telemetry.cli"]


def clean_env(home: Path | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PEFT_") and k not in ("DO_NOT_TRACK", "PYTHONWARNINGS")
    }
    env["PYTHONPATH"] = str(REPO)
    # The dev venv has logfire (a benchmark peer) installed, whose pydantic plugin would be imported by every
    # run (~0.5-1 s each); users without it never pay that, and the tests need not either.
    env["PYDANTIC_DISABLE_PLUGINS"] = "1"
    # Quick flushes keep the tests short; everything else is the user's default.
    env["PEFT_TELEMETRY_FLUSH_INTERVAL_S"] = "0.05"
    if home is not None:
        env["PEFT_STUDIO_HOME"] = str(home)
    env.update(extra or {})
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


Runner = Callable[..., Result]


def make_runner(home: Path) -> Runner:
    """``run("status", "--json")`` runs ``peft-telemetry status --json`` with ``--home`` set to ``home``
    (``use_flag=False``: through ``PEFT_STUDIO_HOME`` only)."""

    def run(
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        use_flag: bool = True,
        timeout: float = 120,
    ) -> Result:
        argv: Sequence[str] = [*args, "--home", str(home)] if use_flag and args else list(args)
        done = subprocess.run(
            [*command(), *argv],
            env=clean_env(home, env),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=home.parent,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def assert_one_line_error(result: Result, *needles: str) -> None:
    """Exit code 1, and stderr is exactly one clear line (no traceback) naming the problem."""
    assert result.code == 1, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.error_lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("peft-telemetry: error: "), lines
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, lines[0])


@dataclass
class Recorded:
    """A data home with consent and a 300-record demo, shared by the read-only tests of one module."""

    run: Runner
    home: Path
    counts: dict[str, int]


def record_demo(home: Path) -> Recorded:
    """Consent and a 300-record demo in ``home``, with the row count of every table."""
    run = make_runner(home)
    assert run("enable").code == 0
    demo = run("demo", "--events", "300", "--seed", "3")
    assert demo.code == 0, demo.stderr
    sql = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in schema.DATA_TABLES)
    result = run("query", sql, "--format", "json")
    assert result.code == 0, result.stderr
    return Recorded(run, home, {row["t"]: row["n"] for row in json.loads(result.stdout)})


@contextmanager
def running(args: Sequence[str], env: Mapping[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A foreground command (``serve``, ``hub``) as a child; on leaving, it must stop cleanly on Ctrl-C
    (exit 0, no traceback) unless the block failed first, and it is killed if it did not stop."""
    process = subprocess.Popen([*command(), *args], env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        yield process
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
