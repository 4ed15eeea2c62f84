"""``peft-telemetry demo``: a seeded, simulated PEFT Studio workload recorded through the public API."""

from telemetry.demo.generate import DemoSummary, run_demo

__all__ = ["DemoSummary", "run_demo"]
