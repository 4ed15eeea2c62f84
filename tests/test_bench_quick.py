"""The benchmark suite keeps running: CI runs its quick mode and checks that every bench ran, never a speed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_quick_benchmark_suite_runs_every_bench(tmp_path: Path) -> None:
    env = {**os.environ, "PEFT_BENCH_RESULTS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=540,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mode"] == "quick"
    statuses = {b["name"]: b["status"] for b in summary["benches"]}
    assert set(statuses) == {p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py")}
    assert set(statuses.values()) == {"ok"}, statuses
    # Every bench produced figures with samples, and the table has the ratio columns filled where a baseline ran.
    assert all(b["results_files"] for b in summary["benches"]), summary["benches"]
    assert any(f.get("ratio") is not None for f in summary["figures"])
