"""Shared bits of the benchmark suite: repeated side-by-side timing, a readable table, a results file.

Every figure is a ratio against a baseline measured in the same run: these machines are noisy, and
ratios are what hold from one run to the next. Each measurement is repeated (alternating the
contenders, so drift hits all of them alike) and reported as median with its spread (min..max).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: The one tracked event every bench records: 10 properties as PEFT Studio sends them, an e-mail address
#: and a home-folder path among them so the anonymizer has real work. Plain data in a module that imports
#: only the standard library: the peers' processes import it without loading our stack.
PROPERTIES: dict[str, Any] = {
    "algorithm": "lora",
    "model_name": "llama-2-7b",
    "model_size": "7B",
    "lora_r": 16,
    "lora_alpha": 32,
    "learning_rate": 2e-4,
    "epochs": 3,
    "fp16": True,
    "email": "alice@example.com",
    "dataset_path": f"{Path.home()}/datasets/alpaca_cleaned.json",
}

#: Where results files go; the CI smoke test points it at a temporary folder.
RESULTS_DIR = Path(os.environ.get("PEFT_BENCH_RESULTS_DIR") or Path(__file__).resolve().parent / "results")


@dataclass
class Figure:
    name: str
    unit: str
    samples: list[float]
    baseline: str | None = None
    ratio: float | None = None
    goal: str = ""
    notes: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.samples), max(self.samples)


@dataclass
class Report:
    title: str
    figures: list[Figure] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        # As it lands (stderr), so a long run's figures are not lost with a later step that fails.
        print(f"  {figure.name}: {figure.median:.4g} {figure.unit} {figure.notes}", file=sys.stderr, flush=True)
        return figure

    def ratio(self, name: str, baseline: str, goal: str = "") -> float:
        fig, base = self.get(name), self.get(baseline)
        fig.baseline, fig.goal = baseline, goal
        fig.ratio = fig.median / base.median if base.median else float("nan")
        return fig.ratio

    def get(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)

    def print(self) -> None:
        print(f"\n## {self.title}")
        print(f"{'measure':<52} {'median':>12} {'spread':>24} {'ratio':>8}  vs / goal")
        for f in self.figures:
            lo, hi = f.spread
            ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
            vs = f"{f.baseline} {f.goal}".strip() if f.baseline else f.notes
            print(f"{f.name:<52} {f.median:>10.3f} {f.unit:<2}{lo:>10.3f}..{hi:<10.3f} {ratio:>8}  {vs}")
        sys.stdout.flush()

    def save(self, slug: str) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{slug}.json"
        payload = {
            "title": self.title,
            "machine": machine(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "figures": [asdict(f) | {"median": f.median} for f in self.figures],
        }
        path.write_text(json.dumps(payload, indent=2))
        return path


def served_settings(home: Path) -> Any:
    """The settings ``peft-telemetry serve`` runs with (its DuckDB memory limit included), minus what would
    disturb a measurement: no OTel globals, no CPU/memory sampling, and ``DO_NOT_TRACK`` ignored."""
    from telemetry.cli.common import build_settings

    settings = build_settings(str(home), for_server=True)
    return settings.model_copy(update={"install_global": False, "sample_resources": False, "do_not_track": False})


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "system": platform.system(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "processor": platform.processor(),
    }


def alternate(contenders: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each contender ``repeats`` times, interleaved; each call returns one sample."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            samples[name].append(run())
    return samples
