"""Read-only commands create nothing; exports create no folders the user did not name; settings errors
name the variable and the form; the demo's counter never passes its total; `context` is not doubled."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from _cli_helpers import Runner, assert_one_line_error

import telemetry
from telemetry.cli.common import Progress
from telemetry.settings import TelemetrySettings, TelemetrySettingsError, TelemetrySettingsWarning
from telemetry.testing import recording_service, stored_events


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.exists() else []


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("status", "--json"),
        ("query", "SELECT count(*) AS n FROM spans"),
        ("query", "--report", "summary"),
        ("export", "--format", "otlp-json", "--output", "-"),
    ],
    ids=["status", "status-json", "query", "report", "export"],
)
def test_read_only_commands_create_no_data_home(cli: Runner, home: Path, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.code == 0, result.stderr
    assert not home.exists(), _tree(home)


def test_status_on_a_fresh_home_says_nothing_is_set_up(cli: Runner, home: Path) -> None:
    report = json.loads(cli("status", "--json").stdout)
    assert report["consent"]["enabled"] is False
    assert report["consent"]["anonymous_id"] is None
    assert report["event_log"]["spans"] == 0
    assert not home.exists()


def test_status_on_a_home_with_only_a_config_file_writes_no_secret(cli: Runner, home: Path) -> None:
    config = home / "config"
    config.mkdir(parents=True)
    (config / "telemetry_config.json").write_text('{"enabled": true}')
    report = json.loads(cli("status", "--json").stdout)
    assert report["consent"]["enabled"] is True
    assert _tree(home) == ["config", "config/telemetry_config.json"]


@pytest.mark.parametrize("fmt", ["otlp-json", "parquet", "csv"])
def test_export_creates_no_parent_folders(cli: Runner, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "does-not-exist" / ("a.jsonl" if fmt == "otlp-json" else "out")
    result = cli("export", "--format", fmt, "--output", str(target))
    assert_one_line_error(result, "does not exist")
    assert not target.parent.exists()


def test_export_into_a_new_folder_whose_parent_exists(cli: Runner, tmp_path: Path) -> None:
    result = cli("export", "--format", "csv", "--output", str(tmp_path / "new"))
    assert result.code == 0, result.stderr
    assert (tmp_path / "new" / "spans.csv").is_file()


def test_an_invalid_value_names_the_variable_and_the_form(cli: Runner) -> None:
    result = cli("status", env={"PEFT_TELEMETRY_EXTRA_DENIED_KEYS": "api_key,email"})
    assert_one_line_error(result, "PEFT_TELEMETRY_EXTRA_DENIED_KEYS", "JSON list")
    result = cli("status", env={"PEFT_TELEMETRY_QUEUE_SIZE": "lots"})
    assert_one_line_error(result, "PEFT_TELEMETRY_QUEUE_SIZE", "whole number")


def test_get_telemetry_raises_one_clear_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEFT_TELEMETRY_EXTRA_DENIED_KEYS", "api_key,email")
    monkeypatch.setattr(telemetry.api, "_default", None)
    with pytest.raises(TelemetrySettingsError) as caught:
        telemetry.get_telemetry()
    assert caught.value.variable == "PEFT_TELEMETRY_EXTRA_DENIED_KEYS"
    assert "JSON list" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no pydantic chain
    assert "api_key,email" not in str(caught.value)  # values are never quoted


def test_a_misspelt_variable_warns_naming_the_closest_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PEFT_TELEMETRY_QUEUESIZE", "1000")
    with pytest.warns(TelemetrySettingsWarning, match="PEFT_TELEMETRY_QUEUE_SIZE"):
        TelemetrySettings(home=tmp_path)
    monkeypatch.delenv("PEFT_TELEMETRY_QUEUESIZE")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TelemetrySettings(home=tmp_path)  # the real names warn about nothing


def test_the_context_key_context_is_not_doubled(tmp_path: Path) -> None:
    with recording_service(tmp_path) as service:
        service.track_error_sync(ValueError("a"), {"context": "loading", "stage": "x"})
        service.track_error_sync(ValueError("b"), {"context": {"operation": "download"}})
        first, second = (e["attributes"] for e in stored_events(service, category="error"))
    assert first["context"] == "loading" and first["context.stage"] == "x"
    assert second["context.operation"] == "download"
    assert not any(key.startswith("context.context") for key in {**first, **second})


def test_the_progress_counter_never_passes_its_total() -> None:
    class Stream:
        text = ""

        def write(self, part: str) -> None:
            self.text += part

        def flush(self) -> None:
            pass

    stream = Stream()
    progress = Progress("writing", 300_000, enabled=True, stream=stream)  # type: ignore[arg-type]
    progress.update(310_272, force=True)
    assert "300,000/300,000" in stream.text and "310,272" not in stream.text
