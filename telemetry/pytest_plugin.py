"""pytest plugin (entry point ``pytest11``): the ``captured_telemetry`` fixture.

Loaded by pytest in every project where the package is installed, so it imports nothing but pytest until
a test asks for the fixture. Disable it with ``-p no:peft_telemetry``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from telemetry.testing import CapturedTelemetry


@pytest.fixture
def captured_telemetry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CapturedTelemetry]:
    """Everything the code under test records (module API, service object, OpenTelemetry API), as stored.

    >>> def test_training_is_tracked(captured_telemetry):
    ...     start_training()
    ...     assert captured_telemetry.event_types == ["training_started"]
    """
    from telemetry.testing import capture_telemetry

    with capture_telemetry(tmp_path_factory.mktemp("telemetry-home")) as captured:
        yield captured
