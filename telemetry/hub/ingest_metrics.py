"""One OTLP metrics request into lake rows (lake schema 2): never trusting the client.

Points are converted and checked exactly as the local OTLP receiver does (``convert_metrics``), then pass
the one choke point every metric passes on an install, :class:`~processors.anonymizing.AnonymizingMetricExporter`
(names, units, descriptions, point and exemplar attributes, resource and scope scrubbed again; a metric it
cannot scrub is dropped, so privacy fails closed), then become rows of the event log's ``metric_points``
shape (``metrics_to_arrow``, the same code the install's DuckDB writer uses) plus the hub's columns.

The install is named by the resource attribute :data:`INSTALL_ATTRIBUTE`, taken out of the protobuf
resource before anything else sees it, as for spans; installs whose data was deleted are refused, also
when the deletion lands between conversion and write (checked again under the hub's write lock).

Points are few (an install's reader exports every 60 s), so each request is written on its own, without
the span path's group commit.
"""

from __future__ import annotations

import hashlib
import threading
import time
from types import SimpleNamespace
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from exporters.duckdb_exporter import metrics_to_arrow
from exporters.eventlog.arrow import ResourceCache
from exporters.lake import LAKE_METRICS_ARROW
from processors.anonymizing import AnonymizingMetricExporter
from telemetry.hub._shared import Ingested, SeenIds, take_install_id
from telemetry.hub.ingest import HubIngest
from telemetry.server.otlp_convert import convert_metrics

_SEEN_MAX: Final = 200_000
#: The stored columns a point's ``share_id`` is the MD5 of (see exporters/lake/schema.py).
SHARE_ID_COLUMNS: Final = (
    "name", "unit", "kind", "temporality", "start_ns", "time_ns", "scope_name", "session_id", "attributes",
)  # fmt: skip


class _Collect(MetricExporter):
    """The inner end of the anonymizing exporter: keeps what came out scrubbed."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.data.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


class HubMetricsIngest:
    """Metric requests in, ``metrics/`` lake files out; shares the span ingest's writer, anonymizer,
    deleted installs and write lock. Thread-safe.

    Example::

        points = HubMetricsIngest(ingest)
        result = points.metrics(ExportMetricsServiceRequest.FromString(body))
    """

    def __init__(self, ingest: HubIngest) -> None:
        self._ingest = ingest
        self._lock = threading.Lock()
        self._resources = ResourceCache()
        self._seen = SeenIds(_SEEN_MAX)
        self.dropped_anonymizer_failed = 0

    def metrics(self, request: ExportMetricsServiceRequest) -> Ingested:
        out = Ingested()
        tables: list[pa.Table] = []
        for resource_metrics in request.resource_metrics:
            owner = take_install_id(resource_metrics.resource.attributes)
            count = sum(_points(m) for sm in resource_metrics.scope_metrics for m in sm.metrics)
            if owner in self._ingest.deleted:
                out.reject(count, "this install's shared data was deleted; it is not accepted again")
                continue
            converted = convert_metrics(SimpleNamespace(resource_metrics=[resource_metrics]))
            out.reject(converted.rejected, converted.message)
            for data in converted.items:
                clean = self._scrubbed(data, out)
                if clean is not None:
                    tables.append(self._lake_rows(clean, owner))
        if tables:
            table = pa.concat_tables(tables)
            keep = self._seen.first_sightings(table["share_id"].to_pylist())
            out.duplicates = table.num_rows - len(keep)
            if len(keep) < table.num_rows:
                table = table.take(pa.array(keep, pa.int64()))
            out.stored = self._write(table, out)
        return out

    def _scrubbed(self, data: MetricsData, out: Ingested) -> MetricsData | None:
        collect = _Collect()
        anonymizing = AnonymizingMetricExporter(self._ingest.anonymizer, collect)
        before = _sdk_points(data)
        anonymizing.export(data)
        after = sum(_sdk_points(d) for d in collect.data)
        if after < before:  # a metric (or the whole envelope) could not be scrubbed: dropped, counted
            with self._lock:
                self.dropped_anonymizer_failed += before - after
            out.reject(before - after, "a metric could not be anonymized")
        return collect.data[0] if collect.data and after else None

    def _lake_rows(self, data: MetricsData, owner: str | None) -> pa.Table:
        with self._lock:  # the resource cache is not thread-safe
            points = metrics_to_arrow(data, self._resources)
        n = points.num_rows
        columns: dict[str, Any] = {name: _plain(points[name]) for name in points.column_names}
        facts = {text: _resource_facts(text) for text in set(columns["resource"])}
        keys = zip(*(columns[name] for name in SHARE_ID_COLUMNS), strict=True)
        columns.update(
            share_id=[_share_id(owner, key) for key in keys],
            install_id=[owner] * n,
            app_version=[facts[r][0] for r in columns["resource"]],
            os_type=[facts[r][1] for r in columns["resource"]],
            received_ns=[time.time_ns()] * n,
            hub_id=[self._ingest.writer.hub_id] * n,
        )
        return pa.table({name: columns[name] for name in LAKE_METRICS_ARROW.names}).cast(LAKE_METRICS_ARROW)

    def _write(self, table: pa.Table, out: Ingested) -> int:
        ingest = self._ingest
        with ingest.write_lock:
            # A deletion may have been confirmed while this request was converted: its rows must not land
            # after the rewrite.
            if ingest.deleted:
                gone = pc.fill_null(pc.is_in(table["install_id"], pa.array(sorted(ingest.deleted), pa.string())), False)
                refused = int(pc.sum(gone.cast("int64")).as_py() or 0)
                if refused:
                    out.reject(refused, "this install's shared data was deleted")
                    table = table.filter(pc.invert(gone))
            ingest.writer.write_metrics(table)
        # Remembered only once written: a failed write must leave the sender's retry welcome.
        self._seen.remember(table["share_id"].to_pylist())
        return table.num_rows


def _share_id(owner: str | None, key: tuple[Any, ...]) -> str:
    text = "\x1f".join("" if part is None else str(part) for part in (owner, *key))
    return hashlib.md5(text.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def _points(metric: Any) -> int:
    kind = metric.WhichOneof("data")
    return len(getattr(metric, kind).data_points) if kind else 0


def _sdk_points(data: MetricsData) -> int:
    return sum(len(m.data.data_points) for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)


def _plain(column: Any) -> list[Any]:
    """A column as Python values; the event log's JSON extension columns as their text."""
    out: list[Any] = []
    for chunk in column.chunks:
        storage = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
        values = storage.to_pylist()
        out.extend(v.decode() if isinstance(v, bytes) else v for v in values)
    return out


def _resource_facts(text: str | None) -> tuple[str | None, str | None]:
    """(``service.version``, ``os.type``) of a resource's JSON, as scrubbed."""
    try:
        attributes = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(attributes, dict):
        return None, None
    version, os_type = attributes.get("service.version"), attributes.get("os.type")
    return (version if isinstance(version, str) else None, os_type if isinstance(os_type, str) else None)
