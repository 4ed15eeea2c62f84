"""The track_* fast path stores exactly what the ordinary OTel span path stores."""

from typing import Any

from exporters.eventlog import schema
from telemetry import TelemetryService, to_attributes
from telemetry.testing import stored_events

PROPERTIES: dict[str, Any] = {
    "algorithm": "qlora",
    "model_name": "mistral-7b-instruct-v0.2",
    "lora": {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "v_proj"]},
    "email": "bob@example.org",
    "checkpoint": "/home/bob/runs/adapter_model.safetensors",
    "steps": 1000,
    "fp16": True,
    "mixed": [1, "two", {"three": 3}],
}

IGNORED = {"trace_id", "span_id", "start_ns", "end_ns", "duration_ms"}


def test_fast_path_and_plain_span_store_identical_rows(service: TelemetryService) -> None:
    service.track_event_sync("training_started", PROPERTIES)
    attributes = to_attributes(PROPERTIES)
    attributes[schema.ATTR_CATEGORY] = "event"
    attributes[schema.ATTR_EVENT_TYPE] = "training_started"
    tracer = service.tracer_provider.get_tracer("peft_studio.telemetry")
    tracer.start_span("training_started", attributes=attributes).end()

    fast, plain = stored_events(service)
    assert {k: v for k, v in fast.items() if k not in IGNORED} == {k: v for k, v in plain.items() if k not in IGNORED}
    assert "bob@example.org" not in str(fast)


def test_fast_path_joins_the_active_trace(service: TelemetryService) -> None:
    with service.tracer.start_as_current_span("outer"):
        service.track_event_sync("inner_event")
    rows = {r["name"]: r for r in stored_events(service)}
    assert rows["inner_event"]["trace_id"] == rows["outer"]["trace_id"]
    assert rows["inner_event"]["parent_span_id"] == rows["outer"]["span_id"]


def test_to_attributes_flattens_and_keeps_only_valid_values() -> None:
    out = to_attributes({"a": {"b": {"c": 1}}, "none": None, "list": [1, 2], "mixed": [1, "x"], "obj": object})
    assert out["a.b.c"] == 1
    assert "none" not in out
    assert out["list"] == (1, 2)
    assert out["mixed"] == '[1,"x"]'
    assert isinstance(out["obj"], str)
