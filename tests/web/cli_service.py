"""``peft-telemetry serve`` as a user starts it: a child process on a free 127.0.0.1 port, with the URL and
token it prints. Used where the test is about the command itself (the host app beside a real service)."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CLI = Path(sys.executable).parent / "peft-telemetry"
_URL = re.compile(r"(http://127\.0\.0\.1:\d+)/\?token=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class CliService:
    url: str
    token: str
    home: Path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DO_NOT_TRACK", None)
    return env


def run_cli(home: Path, *args: str) -> str:
    """Run one ``peft-telemetry`` command on ``home``; its output, or a failure that shows it."""
    done = subprocess.run(
        [str(CLI), "--home", str(home), *args], capture_output=True, text=True, timeout=300, env=_env(), check=False
    )
    assert done.returncode == 0, f"peft-telemetry {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


@contextmanager
def serve(home: Path) -> Iterator[CliService]:
    """``peft-telemetry serve --port 0`` until the block ends (stopped with Ctrl-C, as a user does)."""
    proc = subprocess.Popen(
        [str(CLI), "--home", str(home), "serve", "--port", "0", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_env(),
    )
    assert proc.stdout is not None
    printed = ""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 60
            while (match := _URL.search(printed)) is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"peft-telemetry serve printed no URL: {printed}")
                if sel.select(timeout=1):
                    # Unbuffered: a buffered reader could hold the URL line where select cannot see it.
                    printed += os.read(proc.stdout.fileno(), 4096).decode(errors="replace")
        yield CliService(url=match.group(1), token=match.group(2), home=home)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        proc.stdout.close()
