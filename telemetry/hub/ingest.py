"""One OTLP traces request into lake rows: never trusting the client.

Every span is checked exactly as the local OTLP receiver checks it, then passes the anonymizer again (a
modified or foreign sender gets no free pass), then becomes a lake row; :mod:`telemetry.hub.lake_rows` does
this straight from protobuf to Arrow, without SDK spans. The install that shared it is named by the
resource attribute :data:`INSTALL_ATTRIBUTE` (SHA-256 hex of the install's deletion key); it is taken out of
the resource before anything else sees it and stored in its own column. Installs whose data was deleted
are refused. Requests arriving together are written as one file (group commit): a Parquet file costs ~3 ms
of CPU however few its rows (~6 us a span at 512 spans a request, a fifth of the whole ingest), ~0.6 us a
span in a file of 20,000. So the request that writes waits, up to :data:`LINGER_S`, for the requests still
being converted, and writes them all at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from exporters.lake import LakeWriter
from processors.anonymizer import Anonymizer
from telemetry.hub._shared import Ingested, SeenIds, take_install_id
from telemetry.hub.lake_rows import LakeRows, Rows

_SEEN_MAX: Final = 1_000_000
#: How long a write waits for requests still being converted (each of them waits for this write anyway).
LINGER_S: Final = 0.05
#: Rows past which a write goes ahead without waiting for more.
GROUP_ROWS: Final = 16_384


class _Slot:
    """One request's rows waiting for the group commit."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.done = threading.Event()
        self.stored = 0
        self.deleted = 0
        self.error: BaseException | None = None


class HubIngest:
    """Requests in, lake files out. Thread-safe; one per hub process.

    Example::

        ingest = HubIngest(LakeWriter(lake), Anonymizer(PrivacyPolicy(), secret=lambda: hub_secret))
        result = ingest.traces(ExportTraceServiceRequest.FromString(body))
    """

    def __init__(self, writer: LakeWriter, anonymizer: Anonymizer, deleted: Iterable[str] = ()) -> None:
        self.writer = writer
        self.anonymizer = anonymizer
        self.deleted: set[str] = set(deleted)
        self._seen = SeenIds(_SEEN_MAX)
        self._lock = threading.Lock()
        #: Held while a batch is published and while a deletion rewrites the lake.
        self.write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = threading.Condition(self._queue_lock)
        self._queue: list[_Slot] = []
        self._leading = False
        self._converting = 0  # requests between their start and their turn in the queue
        self._rows = LakeRows(anonymizer)
        self.dropped_anonymizer_failed = 0

    def traces(self, request: ExportTraceServiceRequest) -> Ingested:
        with self._queue_lock:
            self._converting += 1
        rows = Rows()
        try:
            return self._traces(request, rows)
        finally:
            if not rows.queued:  # nothing to write, or an error: a write must no longer wait for it
                with self._queue_lock:
                    self._converting -= 1
                    self._queued.notify_all()

    def _traces(self, request: ExportTraceServiceRequest, rows: Rows) -> Ingested:
        out = Ingested()
        for resource_spans in request.resource_spans:
            owner = take_install_id(resource_spans.resource.attributes)
            if owner in self.deleted:
                count = sum(len(s.spans) for s in resource_spans.scope_spans)
                out.reject(count, "this install's shared data was deleted; it is not accepted again")
                continue
            self._rows.add(resource_spans, owner, rows)
        if rows.rejected:
            out.rejected += rows.rejected
            out.reasons |= rows.reasons
        if rows.not_anonymized:
            with self._lock:
                self.dropped_anonymizer_failed += rows.not_anonymized
        if rows.rows:
            share_ids = rows.share_ids
            keep = self._seen.first_sightings(share_ids)
            out.duplicates += len(share_ids) - len(keep)
            if len(keep) != len(share_ids):
                rows.rows = [rows.rows[index] for index in keep]
            slot = self._commit(rows)
            if slot.deleted:
                out.reject(slot.deleted, "this install's shared data was deleted")
            out.stored = slot.stored
        return out

    def _commit(self, rows: Rows) -> _Slot:
        """Group commit: the first request in becomes the leader and publishes, in one file per day, every
        table queued meanwhile; the others wait for it. Each request is answered only once its rows are in
        a published file, and concurrent installs cost one file (and one fsync) per round, not each."""
        slot = _Slot(rows.table(time.time_ns(), self.writer.hub_id))
        with self._queue_lock:
            self._queue.append(slot)
            rows.queued = True
            self._converting -= 1
            self._queued.notify_all()
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot

    def _lead(self) -> None:
        while True:
            with self._queue_lock:
                deadline = time.monotonic() + LINGER_S
                while self._converting and sum(slot.table.num_rows for slot in self._queue) < GROUP_ROWS:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._queued.wait(left)
                group, self._queue = self._queue, []
                if not group:
                    self._leading = False
                    return
            try:
                with self.write_lock:
                    # A deletion may have been confirmed while these requests were converted: their rows
                    # must not land after the rewrite. (Hubs on other machines see the tombstone within
                    # seconds.)
                    tables = [self._without_deleted(slot) for slot in group]
                    self.writer.write(pa.concat_tables(tables))
                for slot, kept in zip(group, tables, strict=True):
                    slot.stored = kept.num_rows
                    # Remembered only once written: a failed write must leave the sender's retry welcome.
                    self._seen.remember(kept["share_id"].to_pylist())
            except BaseException as exc:
                for slot in group:
                    slot.error = exc
            for slot in group:
                slot.done.set()

    def _without_deleted(self, slot: _Slot) -> pa.Table:
        table = slot.table
        if not self.deleted:
            return table
        gone = pc.fill_null(pc.is_in(table["install_id"], pa.array(sorted(self.deleted), pa.string())), False)
        slot.deleted = int(pc.sum(gone.cast("int64")).as_py() or 0)
        return table.filter(pc.invert(gone)) if slot.deleted else table
