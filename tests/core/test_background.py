import threading
import time

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from processors.background import BackgroundSpanProcessor, BatchExportingProcessor


def spans(n: int) -> list[ReadableSpan]:
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for i in range(n):
        tracer.start_span(f"s{i}").end()
    return list(memory.get_finished_spans())


def test_spans_reach_the_exporter_in_batches_off_the_callers_thread() -> None:
    memory = InMemorySpanExporter()
    seen_threads: set[str] = set()

    class Recording(BatchExportingProcessor):
        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            seen_threads.add(threading.current_thread().name)
            return super().force_flush(timeout_millis)

    background = BackgroundSpanProcessor(Recording(memory), max_batch_size=10, schedule_delay_s=0.05)
    for span in spans(25):
        background.on_end(span)
    assert background.force_flush(5_000)
    assert [s.name for s in memory.get_finished_spans()] == [f"s{i}" for i in range(25)]
    assert seen_threads == {"peft-telemetry-export"}
    background.shutdown()


def test_a_full_queue_drops_and_counts_instead_of_blocking() -> None:
    gate = threading.Event()

    class Blocked(SpanExporter):
        def export(self, batch: object) -> SpanExportResult:
            gate.wait(10)
            return SpanExportResult.SUCCESS

    dropped: list[int] = []
    background = BackgroundSpanProcessor(
        BatchExportingProcessor(Blocked()),
        max_queue_size=100,
        max_batch_size=10,
        schedule_delay_s=0.01,
        on_drop=dropped.append,
    )
    items = spans(1)
    for _ in range(1_000):
        background.on_end(items[0])
    assert background.queued <= 100
    assert background.dropped_queue_full >= 800
    assert sum(dropped) == background.dropped_queue_full
    gate.set()
    background.shutdown()


def test_a_refused_batch_is_retried_with_the_next_one() -> None:
    attempts: list[int] = []

    class FlakyOnce(SpanExporter):
        def export(self, batch: list[ReadableSpan]) -> SpanExportResult:  # type: ignore[override]
            attempts.append(len(batch))
            return SpanExportResult.FAILURE if len(attempts) == 1 else SpanExportResult.SUCCESS

    exporting = BatchExportingProcessor(FlakyOnce())
    for span in spans(3):
        exporting.on_end(span)
    assert exporting.force_flush() is False
    for span in spans(2):
        exporting.on_end(span)
    assert exporting.force_flush() is True
    assert attempts == [3, 5]
    assert exporting.exported == 5


def test_an_exporter_that_raises_never_reaches_the_caller() -> None:
    class Raising(SpanExporter):
        def export(self, batch: object) -> SpanExportResult:
            raise RuntimeError("disk on fire")

    background = BackgroundSpanProcessor(BatchExportingProcessor(Raising()), schedule_delay_s=0.01)
    for span in spans(5):
        background.on_end(span)  # must not raise
    background.force_flush(2_000)
    background.shutdown(1_000)


def test_shutdown_returns_within_its_timeout_when_the_exporter_hangs() -> None:
    class Hanging(SpanExporter):
        def export(self, batch: object) -> SpanExportResult:
            time.sleep(60)
            return SpanExportResult.SUCCESS

    background = BackgroundSpanProcessor(BatchExportingProcessor(Hanging()), schedule_delay_s=0.01)
    for span in spans(3):
        background.on_end(span)
    time.sleep(0.1)
    started = time.monotonic()
    background.shutdown(timeout_millis=500)
    assert time.monotonic() - started < 5
    background.on_end(spans(1)[0])  # after shutdown: ignored and counted, not raised
    assert background.dropped_queue_full == 1


def test_pending_items_are_materialized_on_the_worker() -> None:
    memory = InMemorySpanExporter()
    made_on: list[str] = []
    template = spans(1)[0]

    class Pending:
        def materialize(self) -> ReadableSpan:
            made_on.append(threading.current_thread().name)
            return template

    class Empty:
        def materialize(self) -> None:
            return None

    background = BackgroundSpanProcessor(BatchExportingProcessor(memory), schedule_delay_s=0.01)
    background.submit(Pending())
    background.submit(Empty())
    background.force_flush(2_000)
    assert made_on == ["peft-telemetry-export"]
    assert len(memory.get_finished_spans()) == 1
    background.shutdown()
