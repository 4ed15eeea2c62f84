import json
import os
import re
import time
from pathlib import Path

from telemetry.consent import ConsentStore


def make_store(home: Path, *, dnt: bool = False) -> ConsentStore:
    return ConsentStore(
        home / "config" / "telemetry_config.json",
        home / "config" / "telemetry_secret",
        do_not_track=dnt,
        policy_version="test-1",
    )


def test_consent_is_off_by_default(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.enabled is False
    assert store.user_choice is False


def test_consent_persists_across_restarts(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.set_enabled(True)
    store.save()
    again = make_store(tmp_path)
    assert again.enabled is True
    saved = json.loads((tmp_path / "config" / "telemetry_config.json").read_text())
    assert saved["enabled"] is True
    assert saved["policy_version"] == "test-1"
    assert saved["consent_changed_at"]


def test_do_not_track_forces_consent_off_whatever_the_file_says(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.set_enabled(True)
    store.save()
    forced = make_store(tmp_path, dnt=True)
    assert forced.user_choice is True
    assert forced.enabled is False
    assert forced.set_enabled(True) is False
    assert "DO_NOT_TRACK" in forced.reason


def test_anonymous_id_is_16_hex_and_stable(tmp_path: Path) -> None:
    first = make_store(tmp_path).anonymous_id
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert make_store(tmp_path).anonymous_id == first


def test_anonymous_id_depends_on_the_secret_not_only_the_machine(tmp_path: Path) -> None:
    one = make_store(tmp_path / "a").anonymous_id
    two = make_store(tmp_path / "b").anonymous_id
    assert one != two  # same machine, different per-install secret


def test_rotating_the_identity_changes_secret_and_id(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    old_id, old_secret = store.anonymous_id, store.secret()
    new_id = store.rotate_identity()
    store.save()
    assert new_id != old_id and store.secret() != old_secret
    assert make_store(tmp_path).anonymous_id == new_id


def test_secret_file_is_private(tmp_path: Path) -> None:
    make_store(tmp_path).secret()
    mode = os.stat(tmp_path / "config" / "telemetry_secret").st_mode & 0o777
    assert mode == 0o600


def test_corrupt_config_means_consent_off_and_is_kept_aside(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    store.set_enabled(True)
    store.save()
    config = tmp_path / "config" / "telemetry_config.json"
    for damage in (b"", b'{"enabled": tr', b"\x00\xff garbage", b'{"enabled": "maybe"}'):
        config.write_bytes(damage)
        reopened = make_store(tmp_path)
        assert reopened.enabled is False
        kept = list(config.parent.glob("telemetry_config.json.corrupt-*"))
        assert kept and any(p.read_bytes() == damage for p in kept)
        for p in kept:
            p.unlink()


def test_nothing_is_written_until_the_identity_is_needed(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    assert store.enabled is False and store.identity_created is False
    assert not tmp_path.joinpath("config").exists()
    anon_id = store.anonymous_id  # the consent page shows it: now it exists, and it lasts
    assert sorted(p.name for p in (tmp_path / "config").iterdir()) == ["telemetry_config.json", "telemetry_secret"]
    assert json.loads((tmp_path / "config" / "telemetry_config.json").read_text())["enabled"] is False
    assert make_store(tmp_path).anonymous_id == anon_id


def test_leftover_temp_files_are_cleaned_at_start(tmp_path: Path) -> None:
    make_store(tmp_path).save()
    leftover = tmp_path / "config" / "telemetry_config.json.abc.tmp-write"
    leftover.write_text("{")
    long_ago = time.time() - 2 * 3600
    os.utime(leftover, (long_ago, long_ago))  # abandoned: older than any write takes
    make_store(tmp_path)
    assert not leftover.exists()


def test_a_change_made_by_another_process_is_picked_up(tmp_path: Path) -> None:
    running = make_store(tmp_path)
    running.set_enabled(True)
    running.save()
    assert running.refresh() is False  # our own write is not news
    other = make_store(tmp_path)  # e.g. `peft-telemetry disable` and then `delete`
    other.set_enabled(False)
    other.rotate_identity()
    other.save()
    assert running.refresh() is True
    assert running.enabled is False
    assert running.anonymous_id == other.anonymous_id
    assert running.secret() == other.secret()
