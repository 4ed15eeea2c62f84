"""``delete_all`` killed part way (kill -9 as the local erase begins): the hub's deletion of what this install
shared is already queued on disk, so the next run still has the hub delete it; the local log, whose erase a
later open finishes, is never gone while the shared copy is forgotten."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from _fleet_helpers import ROOT, SHARE_ENV, cli

from telemetry import sharing_state as st

_CHILD = """
import os, signal, sys
from telemetry import pipeline
from telemetry import get_telemetry

def killed(self):  # the moment the local erase begins
    os.kill(os.getpid(), signal.SIGKILL)

pipeline.Pipeline.erase = killed
service = get_telemetry()
service.track_event_sync("model_loaded", {"model_name": "llama"})
service.delete_all().result(timeout=60)
sys.exit(3)  # not reached: the process is killed inside delete_all
"""


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_hub_deletion_is_queued_before_anything_local_is_erased(tmp_path: Path) -> None:
    home = tmp_path / "install"
    cli(home, "enable")
    # A hub that is down: the request must wait on disk, not be sent now.
    cli(home, "share", "enable", "--endpoint", f"http://127.0.0.1:{_unused_port()}/fleet/token")
    data_dir = home / "telemetry"
    before = st.load(data_dir)
    assert before is not None and not before.pending_deletions
    env = {**os.environ, "PYTHONPATH": str(ROOT), **SHARE_ENV, "PEFT_STUDIO_HOME": str(home)}
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    after = st.load(data_dir)
    assert after is not None
    assert [p.deletion_key for p in after.pending_deletions] == [before.deletion_key]
    assert after.deletion_key != before.deletion_key  # what is shared from now on is under a new key
    assert json.loads(cli(home, "share", "status", "--json").stdout)["pending_deletions"] == 1
