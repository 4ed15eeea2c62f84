"""``peft-telemetry demo``: a seeded, simulated PEFT Studio workload recorded through the public API;
``--days N``: weeks of history from a fleet of simulated installs, for the insights."""

from telemetry.demo.generate import DemoSummary, run_demo
from telemetry.demo.history import run_history

__all__ = ["DemoSummary", "run_demo", "run_history"]
