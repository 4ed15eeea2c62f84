import threading
import time
from collections.abc import Callable

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


class _GatedRecorder(SpanExporter):
    """Records batch sizes; the first export waits for ``gate`` (a slow commit, held open by the test)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.exporting = threading.Event()
        self.sizes: list[int] = []

    def export(self, batch: list[ReadableSpan]) -> SpanExportResult:  # type: ignore[override]
        if not self.sizes:
            self.exporting.set()
            self.gate.wait(10)
        self.sizes.append(len(batch))
        return SpanExportResult.SUCCESS


def _flush_in_thread(background: BackgroundSpanProcessor) -> threading.Thread:
    thread = threading.Thread(target=background.force_flush, args=(10_000,))
    thread.start()
    return thread


def test_items_arriving_during_a_write_wait_for_the_next_wake_up_instead_of_a_tiny_transaction() -> None:
    exporter = _GatedRecorder()
    background = BackgroundSpanProcessor(BatchExportingProcessor(exporter), max_batch_size=10, schedule_delay_s=60)
    items = spans(9)
    for span in items[:3]:
        background.on_end(span)
    flushing = _flush_in_thread(background)
    assert exporter.exporting.wait(10)
    for span in items[3:7]:  # arrive while the first batch is being written
        background.on_end(span)
    exporter.gate.set()
    flushing.join(10)
    assert exporter.sizes == [3], "the tail was chased: one transaction per trickle"
    assert background.queued == 4
    for span in items[7:]:
        background.on_end(span)
    assert background.force_flush(10_000)
    assert exporter.sizes == [3, 6]
    background.shutdown()


def test_a_full_batch_arriving_meanwhile_is_taken_in_the_same_wake_up() -> None:
    exporter = _GatedRecorder()
    background = BackgroundSpanProcessor(BatchExportingProcessor(exporter), max_batch_size=4, schedule_delay_s=60)
    items = spans(7)
    for span in items[:3]:
        background.on_end(span)
    flushing = _flush_in_thread(background)
    assert exporter.exporting.wait(10)
    for span in items[3:]:  # a full batch of 4
        background.on_end(span)
    exporter.gate.set()
    flushing.join(10)
    assert background.force_flush(10_000)
    assert sum(exporter.sizes) == 7
    assert background.queued == 0
    background.shutdown()


def _in_forked_child(check: Callable[[], bool]) -> bool:
    """Run ``check`` in a real forked child; True when it returned True there."""
    import os
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded process forked": on purpose
        pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if check() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_a_forked_child_gets_its_own_worker_and_shut_down_processors_stay_shut_down() -> None:
    import gc
    import weakref

    dropped = BackgroundSpanProcessor(BatchExportingProcessor(InMemorySpanExporter()))
    dropped.shutdown()
    gone = weakref.ref(dropped)
    del dropped
    gc.collect()
    assert gone() is None, "the fork hook keeps a shut-down processor alive"

    memory = InMemorySpanExporter()
    live = BackgroundSpanProcessor(BatchExportingProcessor(memory), schedule_delay_s=60)
    stopped = BackgroundSpanProcessor(BatchExportingProcessor(InMemorySpanExporter()))
    stopped.shutdown()
    one = spans(1)[0]

    def child_works() -> bool:
        workers = [t for t in threading.enumerate() if t.name == "peft-telemetry-export"]
        live.on_end(one)
        stopped.on_end(one)
        return (
            len(workers) == 1
            and live.force_flush(10_000)
            and len(memory.get_finished_spans()) == 1
            and stopped.force_flush(100) is False
            and stopped.dropped_queue_full == 1
        )

    assert _in_forked_child(child_works)
    assert memory.get_finished_spans() == ()  # the child's export stayed in the child
    live.shutdown()


def test_an_idle_worker_sleeps_until_work_arrives_and_writes_within_the_delay() -> None:
    flushes = 0

    class Counting(BatchExportingProcessor):
        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            nonlocal flushes
            flushes += 1
            return super().force_flush(timeout_millis)

    memory = InMemorySpanExporter()
    processor = BackgroundSpanProcessor(Counting(memory), schedule_delay_s=0.05)
    try:
        time.sleep(0.3)  # six schedule delays with nothing queued
        assert flushes == 0
        processor.on_end(spans(1)[0])
        deadline = time.monotonic() + 10
        while not memory.get_finished_spans() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(memory.get_finished_spans()) == 1  # written without a flush() call
        written = flushes
        time.sleep(0.3)
        assert flushes == written  # and asleep again
    finally:
        processor.shutdown()


def test_spans_started_after_consent_was_withdrawn_are_dropped_before_the_write() -> None:
    memory = InMemorySpanExporter()
    batch = spans(6)
    cutoff = sorted(s.start_time or 0 for s in batch)[3]  # withdrawn when the fourth span started
    asked: list[int] = []
    withdrawn: list[int | None] = [None]

    def withdrawn_at() -> int | None:
        asked.append(1)
        return withdrawn[0]

    exporting = BatchExportingProcessor(memory, withdrawn_at_ns=withdrawn_at)
    assert exporting.force_flush()
    assert not asked  # an empty batch asks nothing
    for span in batch[:2]:
        exporting.on_end(span)
    assert exporting.force_flush()  # consent holds: written as it is
    withdrawn[0] = cutoff
    for span in batch[2:]:
        exporting.on_end(span)
    assert exporting.force_flush()
    assert len(asked) == 2  # once per batch
    assert [s.name for s in memory.get_finished_spans()] == ["s0", "s1", "s2"]
    assert exporting.dropped_after_withdrawal == 3 and exporting.exported == 3
