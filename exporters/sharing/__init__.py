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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .metric_outbox import PointBatch, encode_points, read_points
    from .outbox import Batch, Cursor, encode_batch, read_batch
    from .transport import Delivery, post_with_retry, request_deletion

# Names load on first use (PEP 562), not when the package is imported. A package whose __init__ imports its
# own modules can deadlock Python 3.11's import locks when two threads import it and one of its modules at once
# (the pipeline built on the telemetry thread, the app importing ours); Python then hands one of them a
# partly initialized module and an ImportError. tests/test_architecture.py keeps package files import-free.
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # looked up once
    return value
