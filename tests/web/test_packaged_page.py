"""The wheel carries the page exactly as committed (and scripts/check-ui-build.sh, run by ``make test``,
holds the committed page to what ui/ builds): a pip user gets the current UI and needs no Node.js."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.web.conftest import ROOT

STATIC = ROOT / "telemetry" / "web" / "static"
PREFIX = "telemetry/web/static/"


def test_the_wheel_ships_the_committed_page_byte_for_byte(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n.removeprefix(PREFIX): archive.read(n) for n in archive.namelist() if n.startswith(PREFIX)}
    committed = {p.name: p.read_bytes() for p in STATIC.iterdir() if p.is_file()}
    assert {"index.html", "app.js", "style.css"} <= set(committed)
    assert shipped == committed
