"""DuckDBMetricExporter: real SDK metrics become metric_points rows."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from exporters.duckdb_exporter import DuckDBMetricExporter
from exporters.eventlog import EventLog


@pytest.fixture
def log(tmp_path: Path) -> Iterator[EventLog]:
    with EventLog(tmp_path / "ev.duckdb") as opened:
        yield opened


def _collect(exporter: DuckDBMetricExporter, record: Any, *, rounds: int = 1) -> None:
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=10**9)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"session.id": "sess-m"}))
    meter = provider.get_meter("peft.metrics", "3.0")
    instruments = record(meter, None)
    for _ in range(rounds):
        record(meter, instruments)
        provider.force_flush()
    provider.shutdown()


def _points(log: EventLog) -> dict[str, list[dict[str, Any]]]:
    with log.reader() as cur:
        result = cur.execute("SELECT * FROM metric_points ORDER BY time_ns")
        names = [d[0] for d in result.description or []]
        rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    return by_name


def test_counters_histograms_and_gauges_are_stored_as_delta_points(log: EventLog) -> None:
    exporter = DuckDBMetricExporter(log)

    def record(meter: Any, instruments: Any) -> Any:
        if instruments is None:
            return (
                meter.create_counter("runs", unit="1", description="training runs"),
                meter.create_histogram("load_ms", unit="ms"),
                meter.create_gauge("gpu_mem"),
                meter.create_up_down_counter("active"),
            )
        runs, load, gauge, active = instruments
        runs.add(2, {"model": "llama"})
        load.record(4.0)
        load.record(30.0)
        gauge.set(1.5)
        active.add(1)
        return instruments

    _collect(exporter, record, rounds=2)
    points = _points(log)
    runs = points["runs"]
    assert [(p["kind"], p["temporality"], p["is_monotonic"], p["value"]) for p in runs] == [
        ("sum", "DELTA", True, 2.0),
        ("sum", "DELTA", True, 2.0),
    ], "counters are stored per interval (DELTA), not as running totals"
    assert (runs[0]["unit"], runs[0]["description"], runs[0]["session_id"]) == (
        "1",
        "training runs",
        "sess-m",
    )
    assert orjson.loads(runs[0]["attributes"]) == {"model": "llama"}
    assert (runs[0]["scope_name"], runs[0]["scope_version"]) == ("peft.metrics", "3.0")
    load = points["load_ms"][0]
    assert (load["kind"], load["count"], load["sum"], load["min"], load["max"]) == (
        "histogram",
        2,
        34.0,
        4.0,
        30.0,
    )
    assert sum(load["bucket_counts"]) == 2 and len(load["bucket_counts"]) == len(load["explicit_bounds"]) + 1
    assert points["gpu_mem"][0]["kind"] == "gauge" and points["gpu_mem"][0]["temporality"] is None
    # (shutdown collects once more: a cumulative point repeats, a delta without news has none)
    assert [p["value"] for p in points["active"]][:2] == [1.0, 2.0], "up-down counters stay cumulative"
    assert exporter.exported_points == sum(len(v) for v in points.values())


def test_non_finite_values_are_stored_as_null(log: EventLog) -> None:
    # The SDK's instruments drop non-finite measurements; data built by other code may still carry them.
    now = time.time_ns()
    gauge = Metric(
        name="weird",
        description="",
        unit="",
        data=Gauge(
            data_points=[NumberDataPoint(attributes={}, start_time_unix_nano=now, time_unix_nano=now, value=math.nan)]
        ),
    )
    histogram = Metric(
        name="weird_h",
        description="",
        unit="",
        data=Histogram(
            data_points=[
                HistogramDataPoint(
                    attributes={}, start_time_unix_nano=now, time_unix_nano=now, count=1, sum=math.inf,
                    bucket_counts=[0, 1], explicit_bounds=[1.0], min=math.inf, max=math.inf,
                )
            ],
            aggregation_temporality=AggregationTemporality.DELTA,
        ),
    )  # fmt: skip
    data = MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=Resource.create({}),
                scope_metrics=[
                    ScopeMetrics(scope=InstrumentationScope("s"), metrics=[gauge, histogram], schema_url="")
                ],
                schema_url="",
            )
        ]
    )
    assert DuckDBMetricExporter(log).export(data) == MetricExportResult.SUCCESS
    points = _points(log)
    assert [p["value"] for p in points["weird"]] == [None]
    assert [(p["sum"], p["min"], p["max"], p["count"]) for p in points["weird_h"]] == [(None, None, None, 1)]


def test_failure_is_returned_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    log = EventLog(blocker / "ev.duckdb", lock_timeout_s=0.5)
    exporter = DuckDBMetricExporter(log)
    results: list[MetricExportResult] = []
    original = exporter.export

    def spy(*args: Any, **kwargs: Any) -> MetricExportResult:
        results.append(original(*args, **kwargs))
        return results[-1]

    exporter.export = spy  # type: ignore[method-assign]

    def record(meter: Any, instruments: Any) -> Any:
        if instruments is None:
            return meter.create_counter("c")
        instruments.add(1)
        return instruments

    _collect(exporter, record)
    assert MetricExportResult.FAILURE in results
    assert exporter.failed_batches >= 1 and exporter.failed_points >= 1
    log.close()


def test_constructor_rejects_a_non_log() -> None:
    with pytest.raises(ValueError):
        DuckDBMetricExporter("events.duckdb")  # type: ignore[arg-type]
