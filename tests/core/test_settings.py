from pathlib import Path

import pytest

from telemetry.settings import TelemetrySettings, TelemetrySettingsError


def test_data_home_defaults_to_dot_peft_studio(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PEFT_STUDIO_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = TelemetrySettings()
    assert settings.home == tmp_path / ".peft-studio"
    assert settings.config_path == tmp_path / ".peft-studio" / "config" / "telemetry_config.json"
    assert settings.db_path.parent == tmp_path / ".peft-studio" / "telemetry"


def test_peft_studio_home_names_another_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PEFT_STUDIO_HOME", str(tmp_path / "elsewhere"))
    assert TelemetrySettings().home == tmp_path / "elsewhere"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("yes", True), ("0", False), ("", False), ("false", False)],
)
def test_do_not_track_is_read_leniently(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("DO_NOT_TRACK", value)
    assert TelemetrySettings().do_not_track is expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"queue_size": 0},
        {"batch_size": 0},
        {"flush_interval_s": -1},
        {"max_events": 5},
        {"db_memory_limit": "lots"},
        {"queue_size": 100, "batch_size": 1000},
        {"no_such_setting": 1},
    ],
)
def test_wrong_configuration_raises_a_clear_error(kwargs: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(TelemetrySettingsError):
        TelemetrySettings(home=tmp_path, **kwargs)


def test_wrong_configuration_from_the_environment_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEFT_TELEMETRY_QUEUE_SIZE", "not a number")
    with pytest.raises(TelemetrySettingsError, match="PEFT_TELEMETRY_QUEUE_SIZE"):
        TelemetrySettings()


def test_every_setting_is_documented() -> None:
    undocumented = [name for name, field in TelemetrySettings.model_fields.items() if not field.description]
    assert undocumented == []
