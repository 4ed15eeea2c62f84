"""``peft-telemetry``, the command line: one module per group of commands, ``main`` wires them."""

from telemetry.cli.main import main

__all__ = ["main"]
