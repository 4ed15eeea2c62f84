"""Request and response bodies of the REST API. The OpenAPI schema is generated from these.

Request models forbid unknown fields and bound every string and collection, so a typo or an oversized
payload is a 422 naming the field instead of something half-stored. The body-level limits (size, depth,
NaN, surrogates, NUL) are checked before these run, in :mod:`telemetry.server.limits`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, StrictFloat

from exporters.eventlog import EventLogStats
from telemetry.service import PipelineStats

Name = Annotated[str, Field(min_length=1, max_length=128)]
Properties = Annotated[dict[Annotated[str, Field(max_length=256)], JsonValue], Field(max_length=256)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ConsentUpdate(_Request):
    """``{"enabled": true}`` to opt in, ``false`` to opt out."""

    enabled: StrictBool


class ConsentStatus(BaseModel):
    enabled: bool = Field(description="Events are being recorded now (the user's choice and no DO_NOT_TRACK).")
    user_choice: bool = Field(description="What the user chose, before DO_NOT_TRACK is applied.")
    do_not_track: bool
    reason: str
    anonymous_user_id: str
    policy_version: str = Field(description="The policy version this build collects under.")
    consented_policy_version: str | None = Field(description="The policy version of the user's last choice.")
    consent_changed_at: datetime | None


class EventIn(_Request):
    """The spec's ``{"event_type": "model_loaded", "properties": {"model_name": "llama-2-7b"}}``."""

    event_type: Name
    properties: Properties = Field(default_factory=dict)


class PerformanceIn(_Request):
    """The spec's ``{"metric_name": "api_response_time", "value": 150.5, "unit": "ms"}``."""

    # Printable ASCII: the service also records these as an OTel histogram, whose names and units must be.
    metric_name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[ -~]+$")]
    value: StrictFloat  # a JSON number: ``true`` and ``"1"`` are refused, not coerced
    unit: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[!-~]+$")] = "ms"


class ErrorIn(_Request):
    """An error seen by the frontend. The stack goes through the same anonymizer as a Python traceback."""

    type: Annotated[str, Field(min_length=1, max_length=200)]
    message: Annotated[str, Field(max_length=16_384)] = ""
    stack: Annotated[str, Field(max_length=65_536)] = ""
    context: Properties = Field(default_factory=dict)


class Accepted(BaseModel):
    """``accepted`` is false when telemetry is off: the call succeeded and nothing was recorded."""

    accepted: bool


class Deleted(BaseModel):
    deleted: bool
    anonymous_user_id: str = Field(description="The new anonymous id: nothing after links to before.")


class Status(BaseModel):
    """Everything the dashboard's status panel shows."""

    consent: ConsentStatus
    session_id: str
    session_start: datetime
    pipeline: PipelineStats
    event_log: EventLogStats | None
    event_log_error: str | None = Field(default=None, description="Why event_log is missing, if it is.")


class PreviewIn(_Request):
    """An event to show anonymized, exactly as it would be stored. Nothing is recorded."""

    event_type: Name = "preview"
    properties: Properties = Field(default_factory=dict)


class Preview(BaseModel):
    event: dict[str, Any]


class Rule(BaseModel):
    id: str
    description: str
    marker: str
    kind: str
    builtin: bool = True  # false: a pattern of the user's own privacy settings
