"""Metric points taken after consent was withdrawn (perhaps by another process) are never written."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.metrics.export import (
    Gauge,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from processors.consent import ConsentGatedMetricExporter


class Recording(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.exported: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.exported.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        return None


def _data(times: Sequence[int]) -> MetricsData:
    points = [NumberDataPoint({}, 0, t, float(t)) for t in times]
    metric = Metric("process.cpu", "", "%", Gauge(points))
    scope = ScopeMetrics(InstrumentationScope("s"), [metric], None)
    return MetricsData([ResourceMetrics(Resource.create({}), [scope], None)])


def _times(data: MetricsData) -> list[int]:
    return [
        p.time_unix_nano
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        for p in m.data.data_points
    ]


def test_points_taken_at_or_after_the_withdrawal_are_left_out() -> None:
    inner = Recording()
    gate = ConsentGatedMetricExporter(lambda: True, inner, withdrawn_at_ns=lambda: 50)
    assert gate.export(_data([10, 40, 50, 60])) == MetricExportResult.SUCCESS
    assert [_times(d) for d in inner.exported] == [[10, 40]]
    assert gate.dropped_after_withdrawal == 2


def test_a_batch_wholly_after_the_withdrawal_reaches_nothing() -> None:
    inner = Recording()
    gate = ConsentGatedMetricExporter(lambda: True, inner, withdrawn_at_ns=lambda: 5)
    assert gate.export(_data([10, 20])) == MetricExportResult.SUCCESS
    assert inner.exported == []


def test_while_consent_holds_every_point_passes() -> None:
    inner = Recording()
    gate = ConsentGatedMetricExporter(lambda: True, inner, withdrawn_at_ns=lambda: None)
    gate.export(_data([10, 20]))
    assert [_times(d) for d in inner.exported] == [[10, 20]]
