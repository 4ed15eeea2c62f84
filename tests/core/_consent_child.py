"""Separate processes for the consent durability tests. Usage: _consent_child.py MODE [ARGS...]

Modes:
  disable-forks HOME_PREFIX     a zygote: imports telemetry once, then for every line N read on stdin forks
                                a child that opens the service on HOME_PREFIX-N (consent on in its file),
                                calls disable(), and prints "disabled N PID" the moment it returns, then
                                sleeps until the parent kills it.
  writes HOME N                 N consent writes (alternating on/off, a fresh store every 10); prints
                                "failures F" (each failure's type on stderr).
  starts HOME N                 N process-start equivalents: a ConsentStore opened (which cleans up
                                leftover temp files) and read; prints "failures F".
  enable HOME                   a whole service started on HOME, enable() waited for; prints "failures F".
  stream HOME OUT               process A: a service with consent on records "stream" events (property seq)
                                every ~2 ms; prints "ready" once the first is stored; stops at a line on
                                stdin, shuts down and writes "seq time_ns" lines to OUT (time read after
                                the track call returned), then prints "dropped D" (dropped_without_consent).
  disable HOME                  process B: a service on HOME calls disable(); prints "before T0 after T1",
                                the wall clock (ns) right before the call and right after it returned.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from telemetry.consent import ConsentStore
from telemetry.service import TelemetryService
from telemetry.settings import TelemetrySettings

_ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    """This module as a child process in ``MODE`` (see the docstring), pipes open, telemetry's env cleared."""
    env = dict(os.environ, PYTHONPATH=str(_ROOT), DO_NOT_TRACK="")
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=_ROOT,
    )


def store(home: Path) -> ConsentStore:
    return ConsentStore(
        home / "config" / "telemetry_config.json",
        home / "config" / "telemetry_secret",
        do_not_track=False,
        policy_version="test-1",
    )


def disable_forks(prefix: str) -> None:
    for line in sys.stdin:
        trial = line.strip()
        if not trial:
            continue
        pid = os.fork()
        if pid == 0:
            home = Path(f"{prefix}-{trial}")
            settings = TelemetrySettings(
                home=home, install_global=False, sample_resources=False, do_not_track=False, metrics_interval_s=3600
            )
            service = TelemetryService(settings)
            service.disable()
            os.write(1, f"disabled {trial} {os.getpid()}\n".encode())
            time.sleep(60)
            os._exit(0)
        os.waitpid(pid, 0)  # the parent kills it; reap before the next trial
        print(f"reaped {trial}", flush=True)


def writes(home: Path, n: int) -> None:
    failures = 0
    current = store(home)
    for i in range(n):
        try:
            if i % 10 == 0:
                current = store(home)
            current.set_enabled(i % 2 == 0)
            current.save()
        except Exception as exc:
            failures += 1
            print(type(exc).__name__, exc, file=sys.stderr)
    print(f"failures {failures}", flush=True)


def starts(home: Path, n: int) -> None:
    failures = 0
    for _ in range(n):
        try:
            store(home).refresh()
        except Exception as exc:
            failures += 1
            print(type(exc).__name__, exc, file=sys.stderr)
    print(f"failures {failures}", flush=True)


def enable(home: Path) -> None:
    failures = 0
    settings = TelemetrySettings(
        home=home, install_global=False, sample_resources=False, do_not_track=False, metrics_interval_s=3600
    )
    service = TelemetryService(settings)
    try:
        service.enable().result(60)
    except Exception as exc:
        failures += 1
        print(type(exc).__name__, exc, file=sys.stderr)
    finally:
        service.shutdown(timeout=30)
    print(f"failures {failures}", flush=True)


def stream(home: Path, out: Path) -> None:
    import select

    settings = TelemetrySettings(
        home=home, install_global=False, sample_resources=False, do_not_track=False, metrics_interval_s=3600
    )
    service = TelemetryService(settings)
    service.enable().result(60)
    recorded: list[tuple[int, int]] = []
    seq = 0
    ready = False
    while True:
        service.track_event_sync("stream", {"seq": seq})
        recorded.append((seq, time.time_ns()))
        seq += 1
        if not ready and seq >= 10:
            service.flush()
            print("ready", flush=True)
            ready = True
        if ready and select.select([sys.stdin], [], [], 0.002)[0]:
            break
    service.shutdown(timeout=30)
    dropped = service.stats().dropped_without_consent
    out.write_text("".join(f"{s} {t}\n" for s, t in recorded))
    print(f"dropped {dropped}", flush=True)


def disable(home: Path) -> None:
    settings = TelemetrySettings(
        home=home, install_global=False, sample_resources=False, do_not_track=False, metrics_interval_s=3600
    )
    service = TelemetryService(settings)
    before = time.time_ns()
    service.disable()
    after = time.time_ns()
    print(f"before {before} after {after}", flush=True)
    os._exit(0)  # nothing else: the opt-out is on disk already


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "disable-forks":
        disable_forks(sys.argv[2])
    elif mode == "writes":
        writes(Path(sys.argv[2]), int(sys.argv[3]))
    elif mode == "starts":
        starts(Path(sys.argv[2]), int(sys.argv[3]))
    elif mode == "enable":
        enable(Path(sys.argv[2]))
    elif mode == "stream":
        stream(Path(sys.argv[2]), Path(sys.argv[3]))
    elif mode == "disable":
        disable(Path(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")
