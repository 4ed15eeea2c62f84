"""Sharing an install's event log with a fleet hub: the outbox reader and the OTLP/HTTP sender.

Public names::

    from exporters.sharing import Cursor, read_batch, encode_batch, post_with_retry, request_deletion

The event log is the outbox: :func:`read_batch` reads the spans after a cursor (what was stored is already
anonymized), :func:`encode_batch` turns them into one OTLP protobuf request with OpenTelemetry's own
encoder, and :func:`post_with_retry` sends it gzip-compressed with bounded retries. The caller (the
install's sharing worker) owns consent, the cursor file and the thread. Metric points travel the same
way (:func:`read_points`, :func:`encode_points`, to ``/v1/metrics``), with a cursor of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporters._lazy import lazy_exports

if TYPE_CHECKING:
    from .metric_outbox import PointBatch, encode_points, read_points
    from .outbox import Batch, Cursor, encode_batch, read_batch
    from .transport import Delivery, post_with_retry, request_deletion

# Imported on first use, not with the package (see exporters/_lazy.py for why).
_EXPORTS = {
    "PointBatch": "metric_outbox",
    "encode_points": "metric_outbox",
    "read_points": "metric_outbox",
    "Batch": "outbox",
    "Cursor": "outbox",
    "encode_batch": "outbox",
    "read_batch": "outbox",
    "Delivery": "transport",
    "post_with_retry": "transport",
    "request_deletion": "transport",
}
__all__ = [
    "Batch",
    "Cursor",
    "Delivery",
    "PointBatch",
    "encode_batch",
    "encode_points",
    "post_with_retry",
    "read_batch",
    "read_points",
    "request_deletion",
]
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
