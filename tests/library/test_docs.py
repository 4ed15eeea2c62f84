"""The docs a pip user follows: the README's quick start runs as written, generated pages are current,
links stay inside the repository, and nothing tells a pip user to run make."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from telemetry import TelemetryService, TelemetrySettings
from telemetry.testing import stored_events

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _python_block_after(text: str, heading: str) -> str:
    section = text.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block after {heading}"
    return match.group(1)


def test_the_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    code = _python_block_after((ROOT / "README.md").read_text(), "## Quick start")
    home = tmp_path / "home"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PEFT_STUDIO_HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "spans=" in result.stdout or "events" in result.stdout  # the totals it prints
    reader = TelemetryService(
        TelemetrySettings(home=home, install_global=False, sample_resources=False, capture_exceptions=False)
    )
    try:
        stored = stored_events(reader)
    finally:
        reader.shutdown()
    assert {e["category"] for e in stored} >= {"event", "performance", "error"}
    assert {"training_started", "performance", "error"} <= {e["event_type"] for e in stored}
    assert str(tmp_path) not in orjson.dumps(stored, default=str).decode()


def test_the_docs_quick_start_runs_as_written(tmp_path: Path) -> None:
    code = _python_block_after((ROOT / "docs" / "quickstart.md").read_text(), "pip install")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
             "PEFT_STUDIO_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def _run_python(code: str, tmp_path: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "PEFT_STUDIO_HOME": str(home)},
    )  # fmt: skip


def _stored(home: Path) -> list[dict[str, Any]]:
    reader = TelemetryService(
        TelemetrySettings(home=home, install_global=False, sample_resources=False, capture_exceptions=False)
    )
    try:
        return stored_events(reader)
    finally:
        reader.shutdown()


def test_the_opentelemetry_page_example_records_the_span_and_its_child(tmp_path: Path) -> None:
    # A fresh home: the example's enable() is the first, so this checks its wait for the pipeline, without
    # which the plain OTel span is a no-op span and the event starts a trace of its own.
    code = _python_block_after((ROOT / "docs" / "opentelemetry.md").read_text(), "# OpenTelemetry")
    home = tmp_path / "home"
    result = _run_python(code, tmp_path, home)
    assert result.returncode == 0, result.stderr[-3000:]
    by_name = {e["name"]: e for e in _stored(home)}
    assert by_name["fine_tune"]["attributes"]["peft.lora.r"] == 16
    assert by_name["epoch_completed"]["parent_span_id"] == by_name["fine_tune"]["span_id"]


# Pages whose examples are fragments (they use names the page's reader has): what they assume, defined.
_FRAGMENTS = {
    ("quickstart.md", "## Async code"): (
        "import asyncio, telemetry\nservice = telemetry.get_telemetry()\nservice.enable().result(30)\n"
        "async def main():\n",
        "asyncio.run(main())\n",
    ),
    ("consent.md", "# The consent model"): ("import telemetry\nuser_said_yes = True\n", ""),
    ("errors.md", "## From logging"): (
        "import telemetry\ntelemetry.get_telemetry().enable().result(30)\nmodel_id = 'org/model'\n"
        "def download(model_id):\n    raise ConnectionError('hub unreachable')\n",
        "telemetry.get_telemetry().flush()\nassert telemetry.get_telemetry().stats().processed >= 1\n",
    ),
    ("testing.md", "Without pytest"): (
        "import pathlib, tempfile, telemetry\ntmp_path = pathlib.Path(tempfile.mkdtemp())\n"
        "def train(*args):\n    telemetry.track_event_sync('training_started')\n",
        "",
    ),
}


@pytest.mark.parametrize(("page", "heading"), sorted(_FRAGMENTS))
def test_example_fragments_run_with_what_they_assume(tmp_path: Path, page: str, heading: str) -> None:
    before, after = _FRAGMENTS[(page, heading)]
    block = _python_block_after((ROOT / "docs" / page).read_text(), heading)
    if before.rstrip().endswith(":"):  # the fragment is the body of a function
        block = "".join(f"    {line}\n" for line in block.splitlines())
    result = _run_python(before + block + after, tmp_path, tmp_path / "home")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "never awaited" not in result.stderr, result.stderr[-3000:]


def test_generated_pages_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_setting_is_in_the_settings_page() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert all(f"| `{name}` |" in page for name in TelemetrySettings.model_fields)


def test_links_stay_inside_the_repository_and_exist() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if re.match(r"^[a-z]+://", target):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), (page.name, target)
            assert resolved.exists(), (page.name, target)


def test_no_page_for_pip_users_says_make() -> None:
    for page in (ROOT / "docs").glob("*.md"):
        assert not re.search(r"\bmake\s+\w", page.read_text()), page.name
    readme = (ROOT / "README.md").read_text()
    # The README opens with the two commands of a source checkout (`make run`, `make test`), marked as
    # such; everything after that block up to the developers' section is for pip users and names no make.
    opening = re.match(r"# [^\n]+\n\n```bash\n(.*?)\n```\n", readme, re.DOTALL)
    assert opening is not None and "from a checkout" in opening.group(1)
    assert re.findall(r"^make (\w+)", opening.group(1), re.MULTILINE) == ["run", "test"]
    rest = readme[opening.end() :]
    for_users = rest.split("## Developing", 1)[0].split("## Performance", 1)[0]
    assert not re.search(r"`make\b|^make ", for_users, re.MULTILINE)
