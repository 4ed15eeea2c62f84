"""enable / disable / status with the consent ledger, delete with and without confirmation, preview."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _cli_helpers import Runner, assert_one_line_error


def status(cli: Runner, **kwargs: Any) -> dict[str, Any]:
    result = cli("status", "--json", **kwargs)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def spans(cli: Runner) -> int:
    return status(cli)["event_log"]["spans"]


def test_enable_then_status_shows_enabled_and_the_ledger(cli: Runner, home: Path) -> None:
    result = cli("enable")
    assert result.code == 0, result.stderr
    assert "Telemetry enabled" in result.stdout
    text = cli("status").stdout
    assert "enabled: enabled in the config file\n" in text
    assert "Consent ledger:   1 entries" in text
    assert "granted" in text and "via cli" in text
    data = status(cli)
    assert data["consent"]["enabled"] is True
    assert data["consent"]["policy_version"] == data["consent"]["current_policy_version"]
    assert [(e["action"], e["source"]) for e in data["ledger"]] == [("granted", "cli")]
    config = json.loads((home / "config" / "telemetry_config.json").read_text())
    assert config["enabled"] is True


def test_disable_is_recorded_newest_first(cli: Runner) -> None:
    assert cli("enable").code == 0
    result = cli("disable")
    assert result.code == 0, result.stderr
    assert "Telemetry disabled" in result.stdout
    data = status(cli)
    assert data["consent"]["enabled"] is False
    assert [e["action"] for e in data["ledger"]] == ["revoked", "granted"]


def test_delete_yes_erases_everything_and_rotates_the_id(cli: Runner) -> None:
    assert cli("enable").code == 0
    assert cli("demo", "--events", "120", "--seed", "1").code == 0
    before = status(cli)
    assert before["event_log"]["spans"] >= 120
    result = cli("delete", "--yes")
    assert result.code == 0, result.stderr
    assert "erased" in result.stdout
    after = status(cli)
    assert after["event_log"]["spans"] == 0
    assert after["event_log"]["span_events"] == 0
    assert after["event_log"]["metric_points"] == 0
    assert after["consent"]["enabled"] is True  # the choice is kept, and the fresh log proves it
    assert [(e["action"], e["source"]) for e in after["ledger"]] == [("granted", "delete_all")]
    assert after["consent"]["anonymous_id"] != before["consent"]["anonymous_id"]


def test_delete_asks_and_a_no_keeps_the_data(cli: Runner) -> None:
    assert cli("enable").code == 0
    assert cli("demo", "--events", "50", "--seed", "2").code == 0
    kept = spans(cli)
    for answer in ("n\n", ""):  # "no", and a closed stdin (a script that forgot --yes)
        result = cli("delete", stdin=answer)
        assert result.code == 1
        assert "[y/N]" in result.stderr and "Nothing deleted" in result.stderr
        assert spans(cli) == kept
    result = cli("delete", stdin="y\n")
    assert result.code == 0, result.stderr
    assert spans(cli) == 0


def test_preview_shows_the_anonymized_event_and_stores_nothing(cli: Runner) -> None:
    assert cli("enable").code == 0
    event = {
        "event_type": "model_loaded",
        "properties": {
            "model_name": "llama-2-7b",
            "user_email": "alice.nguyen@example.com",
            "note": "contact bob.smith@gmail.com",
            "dataset_path": "/home/alice/datasets/train.jsonl",
            "hub_token": "hf_abcdefghijklmnopqrstuvwxyz0123456789",
        },
    }
    result = cli("preview", json.dumps(event))
    assert result.code == 0, result.stderr
    shown = result.stdout
    json.loads(shown)
    assert "llama-2-7b" in shown
    for secret in ("alice.nguyen@example.com", "bob.smith@gmail.com", "/home/alice", "hf_abcdefghijklmnop"):
        assert secret not in shown, secret
    assert "train.jsonl" in shown  # paths keep their file name
    from_stdin = cli("preview", "-", stdin=json.dumps(event))
    assert from_stdin.code == 0 and from_stdin.stdout == shown
    assert spans(cli) == 0


def test_preview_with_bad_json_is_one_line_exit_1(cli: Runner) -> None:
    assert_one_line_error(cli("preview", "{not json"), "JSON")
    assert_one_line_error(cli("preview", "[1, 2]"), "JSON object")
