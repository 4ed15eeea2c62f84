"""``python -m telemetry.cli``: the same as the ``peft-telemetry`` command."""

import sys

from telemetry.cli.main import main

if __name__ == "__main__":  # importing the module (a package walk) must not run the CLI
    sys.exit(main())
