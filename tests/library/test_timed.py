"""``timed`` in its four forms, through the module-level API a user's code calls."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import telemetry
from telemetry import TelemetrySettings, timed
from telemetry.testing import stored_events


@pytest.fixture
def default_service(tmp_path: Path) -> Iterator[telemetry.TelemetryService]:
    service = telemetry.configure(
        TelemetrySettings(home=tmp_path, install_global=False, sample_resources=False, capture_exceptions=False)
    )
    service.enable().result(10)
    yield service
    service.shutdown()


def _measurements(service: telemetry.TelemetryService) -> list[tuple[str, float, str]]:
    rows = stored_events(service, category="performance")
    return [(r["metric_name"], r["metric_value"], r["attributes"]["peft.metric.unit"]) for r in rows]


def test_timed_in_all_four_forms(default_service: telemetry.TelemetryService) -> None:
    with timed("block"):
        time.sleep(0.02)

    @timed("sync_function", unit="s")
    def work(x: int) -> int:
        time.sleep(0.01)
        return x * 2

    @timed("async_function", unit="us")
    async def async_work(x: int) -> int:
        await asyncio.sleep(0.01)
        return x + 1

    async def main() -> int:
        async with timed("async_block"):
            await asyncio.sleep(0.01)
        return await async_work(1)

    assert work(21) == 42
    assert work.__name__ == "work"
    assert asyncio.run(main()) == 2
    got = {name: (value, unit) for name, value, unit in _measurements(default_service)}
    assert set(got) == {"block", "sync_function", "async_function", "async_block"}
    assert got["block"][1] == "ms" and got["block"][0] >= 20
    assert got["sync_function"][1] == "s" and 0.01 <= got["sync_function"][0] < 10
    assert got["async_function"][1] == "us" and got["async_function"][0] >= 10_000
    assert got["async_block"][1] == "ms" and got["async_block"][0] >= 10


def test_timed_records_when_the_body_raises(default_service: telemetry.TelemetryService) -> None:
    @timed("failing")
    def fail() -> None:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        fail()
    with pytest.raises(KeyError), timed("failing_block"):
        raise KeyError("x")
    assert sorted(m[0] for m in _measurements(default_service)) == ["failing", "failing_block"]


def test_a_wrong_unit_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="unit must be one of"):
        timed("x", unit="minutes")


def test_one_instance_entered_from_concurrent_tasks(default_service: telemetry.TelemetryService) -> None:
    shared = timed("shared_block")

    async def use(delay: float) -> None:
        async with shared:
            await asyncio.sleep(delay)

    async def main() -> None:
        await asyncio.gather(use(0.05), use(0.01))

    asyncio.run(main())
    values = sorted(v for name, v, _ in _measurements(default_service) if name == "shared_block")
    assert len(values) == 2
    assert values[0] >= 10 and values[1] >= 50  # each entry kept its own start
