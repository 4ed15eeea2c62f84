"""Every setting of the telemetry system, in one documented pydantic-settings model.

Values come from keyword arguments, then ``PEFT_TELEMETRY_*`` environment variables, then the defaults
below. ``PEFT_STUDIO_HOME`` names the data home (default ``~/.peft-studio``), and ``DO_NOT_TRACK`` (the
cross-tool convention) or ``PEFT_TELEMETRY_DISABLED`` force consent off whatever the config file says.
A wrong value raises :class:`TelemetrySettingsError` (a ``ValueError``) naming the variable and the form
it expects, when the settings are built; a ``PEFT_TELEMETRY_*`` variable no setting reads gets a
:class:`TelemetrySettingsWarning` naming the closest setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from telemetry.settings_errors import TelemetrySettingsError, TelemetrySettingsWarning, explain, warn_unknown_variables

__all__ = ["CONSENT_POLICY_VERSION", "TelemetrySettings", "TelemetrySettingsError", "TelemetrySettingsWarning"]

from exporters.duckdb_config import MEMORY_LIMIT_PATTERN

#: Bumped whenever what we collect changes; consent given under an older version is shown as such.
CONSENT_POLICY_VERSION = "2026-11"

_FALSY = {"", "0", "false", "no", "off"}


class TelemetrySettings(BaseSettings):
    """Configuration of one telemetry service. Every field is documented; see the README's table."""

    model_config = SettingsConfigDict(
        env_prefix="PEFT_TELEMETRY_", extra="forbid", validate_default=True, populate_by_name=True
    )

    home: Path = Field(
        default_factory=lambda: Path.home() / ".peft-studio",
        validation_alias=AliasChoices("PEFT_STUDIO_HOME", "PEFT_TELEMETRY_HOME"),
        description="Data home. Config in <home>/config/, the event log in <home>/telemetry/.",
    )
    do_not_track: bool = Field(
        default=False,
        validation_alias=AliasChoices("do_not_track", "DO_NOT_TRACK", "PEFT_TELEMETRY_DISABLED"),
        description="Force consent off whatever the config file says (DO_NOT_TRACK=1).",
    )
    app_name: str = Field(default="peft-studio", description="service.name resource attribute.")
    app_version: str = Field(default="0.1.0", description="service.version resource attribute.")
    max_events: int = Field(
        default=1_000_000, ge=1_000, le=100_000_000, description="Spans kept in the event log; oldest pruned."
    )
    max_age_days: float = Field(default=90.0, gt=0, le=3650, description="Spans older than this are pruned.")
    queue_size: int = Field(
        default=65_536,
        ge=64,
        le=10_000_000,
        description="Events waiting for export; beyond it, drop and count.",
    )
    batch_size: int = Field(
        default=1_024,
        ge=1,
        le=100_000,
        description=(
            "Most spans per DuckDB transaction. Larger batches cost fewer transactions but hold more spans"
            " in the host app's memory while events stream in."
        ),
    )
    flush_interval_s: float = Field(
        default=0.5,
        gt=0,
        le=60,
        description="Longest time an event waits in memory before it is written (to the spool file, fsynced:"
        " what a kill -9 or a power loss can cost).",
    )
    merge_interval_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How often this process's spool file is merged into the DuckDB event log (one transaction"
        " instead of one per flush: a few events a second cost a fraction of the CPU). Reads in this process"
        " merge first; other processes (`peft-telemetry serve`) see events up to this much later. 0: no spool,"
        " every flush is a DuckDB transaction.",
    )
    shutdown_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="shutdown() and exit wait at most this long for the last write.",
    )
    lock_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="How long a write waits for another process holding the file."
    )
    metrics_interval_s: float = Field(
        default=30.0, ge=0.05, le=3600, description="How often metrics (timings, CPU, memory) are written."
    )
    consent_poll_s: float = Field(
        default=1.0, gt=0, le=60, description="How often a change made by another process (CLI, service) is picked up."
    )
    sample_resources: bool = Field(
        default=True, description="While consent is on, sample process CPU and memory as observable gauges."
    )
    db_memory_limit: str = Field(
        default="32MB",
        pattern=MEMORY_LIMIT_PATTERN,
        description=(
            "DuckDB memory_limit inside the host app: its buffer cache is what RSS grows by while events are"
            " written, so this bounds the app's memory growth. `peft-telemetry serve`, whose job is the"
            " dashboard's queries, uses 128MB unless this is set."
        ),
    )
    debug_print: bool = Field(
        default=False,
        description="Print each anonymized record to stderr instead of storing it (see what would be kept).",
    )
    install_global: bool = Field(
        default=True,
        description="Install our tracer and meter providers as the OpenTelemetry globals (plain OTel code "
        "then feeds the same pipeline). Tests and embedders that own the globals turn it off.",
    )
    capture_exceptions: bool = Field(
        default=True,
        description="While consent is on, record uncaught exceptions (main thread, worker threads, asyncio tasks)"
        " and write them to disk before the process dies of them. The previous hooks are still called.",
    )
    share_interval_s: float = Field(
        default=5.0, gt=0, le=3600, description="With fleet sharing on: seconds between two rounds of sending."
    )
    share_settle_s: float | None = Field(
        default=None,
        ge=0,
        le=3600,
        description="With fleet sharing on: a span is sent once it ended this long ago (the recording pipeline "
        "may still be writing it). Default: 2 x flush_interval_s + merge_interval_s + lock_timeout_s + 1 s.",
    )
    share_batch: int = Field(
        default=512, ge=1, le=100_000, description="With fleet sharing on: most spans per request to the hub."
    )
    extra_denied_keys: list[str] = Field(
        default_factory=list, description="Attribute keys removed in addition to the built-in rules."
    )
    extra_patterns: dict[str, str] = Field(
        default_factory=dict, description="Extra value patterns {rule_id: regex}; matches become <redacted:rule_id>."
    )
    allowlist_keys: list[str] | None = Field(
        default=None, description="If set, only these attribute keys are kept (allowlist mode)."
    )

    def __init__(self, **values: Any) -> None:
        warn_unknown_variables(os.environ, type(self).model_fields)
        try:
            super().__init__(**values)
        except (ValidationError, SettingsError) as exc:
            raise explain(exc, type(self).model_fields, values) from None

    @field_validator("do_not_track", mode="before")
    @classmethod
    def _lenient_flag(cls, value: Any) -> Any:
        # DO_NOT_TRACK is a convention shared by many tools: any value but an explicit "no" means "no".
        if isinstance(value, str):
            return value.strip().lower() not in _FALSY
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @model_validator(mode="after")
    def _batch_fits_queue(self) -> TelemetrySettings:
        if self.batch_size > self.queue_size:
            raise ValueError("batch_size must not exceed queue_size")
        return self

    @property
    def config_dir(self) -> Path:
        return self.home / "config"

    @property
    def config_path(self) -> Path:
        return self.config_dir / "telemetry_config.json"

    @property
    def secret_path(self) -> Path:
        return self.config_dir / "telemetry_secret"

    @property
    def data_dir(self) -> Path:
        return self.home / "telemetry"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "events.duckdb"
