"""The docs a pip user follows: the README's quick start runs as written, generated pages are current,
links stay inside the repository, and nothing tells a pip user to run make."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import orjson

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
