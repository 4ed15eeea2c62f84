"""An event log at the retention cap, built fast: Arrow bulk inserts straight into the log (not through
the pipeline, which would take minutes for a million events)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa

from exporters.eventlog import EventLog, schema

#: The default retention (``max_events``).
RETENTION_CAP = 1_000_000

_ATTRIBUTES = json.dumps(
    {
        "peft.category": "event",
        "peft.event_type": "training_step",
        "algorithm": "lora",
        "model_name": "llama-2-7b",
        "lora.r": 16,
        "lora.alpha": 32,
        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
        "dataset_name": "alpaca-cleaned",
        "learning_rate": 0.0002,
        "note": "x" * 120,
    }
)


def build_big_log(db_path: Path, spans: int = RETENTION_CAP, *, batch: int = 100_000) -> int:
    """``spans`` span rows (and one span event per 20 spans) written in bulk; returns the span count."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log = EventLog(db_path, max_events=RETENTION_CAP)
    base = time.time_ns() - spans * 1_000_000  # recent: older rows would be pruned by age
    try:
        for start in range(0, spans, batch):
            n = min(batch, spans - start)
            numbers = range(start, start + n)
            span_ids = [f"{i:016x}" for i in numbers]
            times = [base + i * 1_000_000 for i in numbers]
            spans_table = pa.table(
                {
                    "trace_id": [s * 2 for s in span_ids],
                    "span_id": span_ids,
                    "name": ["training_step"] * n,
                    "kind": ["INTERNAL"] * n,
                    "start_ns": pa.array(times, pa.int64()),
                    "end_ns": pa.array(times, pa.int64()),
                    "duration_ms": [0.0] * n,
                    "status_code": ["UNSET"] * n,
                    "category": ["event"] * n,
                    "event_type": ["training_step"] * n,
                    "session_id": [f"session-{i // 5000}" for i in numbers],
                    "attributes": [_ATTRIBUTES] * n,
                    "scope_name": ["peft_studio.telemetry"] * n,
                    "redactions": ["{}"] * n,
                    "links": ["[]"] * n,
                    "dropped_attributes": pa.array([0] * n, pa.int32()),
                }
            )
            chosen = [i - start for i in numbers if i % 20 == 0]
            events = pa.table(
                {
                    "trace_id": [span_ids[i] * 2 for i in chosen],
                    "span_id": [span_ids[i] for i in chosen],
                    "seq": pa.array([0] * len(chosen), pa.int32()),
                    "name": ["exception"] * len(chosen),
                    "time_ns": pa.array([times[i] for i in chosen], pa.int64()),
                    "attributes": ['{"exception.type": "ValueError"}'] * len(chosen),
                }
            )
            log.append_many({schema.SPANS: spans_table, schema.SPAN_EVENTS: events})
        return spans
    finally:
        log.close()
