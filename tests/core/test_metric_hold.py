"""The periodic reader's metric exports are held and written together (an idle app must not reopen the
event log every metrics interval), and nothing held is lost on flush or shutdown."""

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)

from telemetry._metric_hold import HeldMetricExporter


class Recorded(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.exports: list[MetricsData] = []
        self.shut = False

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object) -> MetricExportResult:
        self.exports.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        self.shut = True


def collection(value: int) -> MetricsData:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("t").create_counter("clicks").add(value)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def values(data: MetricsData) -> list[int]:
    return [
        int(point.value)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        for point in metric.data.data_points
    ]


def test_exports_are_held_then_written_in_one_go_on_flush() -> None:
    inner = Recorded()
    held = HeldMetricExporter(inner, hold_s=3600)
    for value in (1, 2, 3):
        assert held.export(collection(value)) is MetricExportResult.SUCCESS
    assert inner.exports == []
    assert held.force_flush()
    assert [values(data) for data in inner.exports] == [[1, 2, 3]]
    assert held.force_flush() and len(inner.exports) == 1  # nothing twice


def test_an_export_past_the_hold_time_writes_everything_held() -> None:
    inner = Recorded()
    held = HeldMetricExporter(inner, hold_s=0.0)
    held.export(collection(7))
    assert [values(data) for data in inner.exports] == [[7]]


def test_shutdown_writes_what_is_held() -> None:
    inner = Recorded()
    held = HeldMetricExporter(inner, hold_s=3600)
    held.export(collection(5))
    held.shutdown()
    assert [values(data) for data in inner.exports] == [[5]] and inner.shut
