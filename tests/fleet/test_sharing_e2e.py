"""Sharing end to end with real processes: installs record through the service, their sharing worker sends
from the event log to a real hub process; one install never shares; revocation; deletion."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx
from _fleet_helpers import Hub, cli, lake_rows, rows_of, share_status, start_install, wait_for


def _ledger(home: Path) -> list[str]:
    with duckdb.connect(str(home / "telemetry" / "events.duckdb"), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT action FROM consent_ledger ORDER BY time_ns").fetchall()]


def _finish(process) -> None:  # type: ignore[no-untyped-def]
    process.terminate()
    process.wait(30)


def test_sharing_installs_arrive_a_non_sharing_one_never_does(hub: Hub, tmp_path: Path) -> None:
    sharer, private = tmp_path / "sharer", tmp_path / "private"
    for home in (sharer, private):
        cli(home, "enable")
    refused = cli(private, "share", "enable", "--endpoint", "not a url", check=False)
    assert refused.returncode != 0 and "http" in refused.stderr
    assert share_status(private)["sharing"] is False  # off by default
    cli(sharer, "share", "enable", "--endpoint", hub.endpoint)
    status = share_status(sharer)
    assert status["sharing"] is True and hub.endpoint.rsplit("/", 1)[1] not in status["endpoint"]

    processes = [start_install(sharer, 40, 60), start_install(private, 40, 60)]
    install_id = share_status(sharer)["install_id"]
    wait_for(lambda: rows_of(hub.lake, install_id) == 40, "the sharer's 40 events")
    wait_for(lambda: share_status(sharer)["sent_spans"] >= 40, "the sender's counters")
    for process in processes:
        _finish(process)
    rows = lake_rows(hub.lake, ("install_id", "attributes"))
    assert {r[0] for r in rows} == {install_id}  # nothing of the install that never shared
    assert all("alice@example.com" not in r[1] for r in rows)
    assert "share_granted" in _ledger(sharer) and "share_granted" not in _ledger(private)


def test_sharing_needs_recording_and_revocation_stops_it(hub: Hub, tmp_path: Path) -> None:
    home = tmp_path / "install"
    needs = cli(home, "share", "enable", "--endpoint", hub.endpoint, check=False)
    assert needs.returncode != 0 and "recording" in needs.stderr
    cli(home, "enable")
    cli(home, "share", "enable", "--endpoint", hub.endpoint)
    first = start_install(home, 15, 60, tag="before")
    install_id = share_status(home)["install_id"]
    wait_for(lambda: rows_of(hub.lake, install_id) == 15, "the events recorded before revocation")
    cli(home, "share", "disable")
    status = share_status(home)
    assert status["sharing"] is False and status["agreed"] is False
    # Recording goes on; sharing does not. A second process records after revocation and lingers long
    # enough for many sending rounds (interval 0.2 s, settle 0.3 s).
    second = start_install(home, 15, 3, tag="after")
    second.wait(60)
    _finish(first)
    assert rows_of(hub.lake, install_id) == 15
    assert all('"tag":"after"' not in r[0] for r in lake_rows(hub.lake, ("attributes",)))
    assert _ledger(home)[-1] == "share_revoked"
    with duckdb.connect(str(home / "telemetry" / "events.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM spans WHERE category = 'event'").fetchone() == (30,)


def test_deletion_removes_only_the_install_own_rows(hub: Hub, tmp_path: Path) -> None:
    alice, bob = tmp_path / "alice", tmp_path / "bob"
    for home in (alice, bob):
        cli(home, "enable")
        cli(home, "share", "enable", "--endpoint", hub.endpoint)
    processes = [start_install(alice, 20, 60), start_install(bob, 20, 60)]
    alice_id, bob_id = share_status(alice)["install_id"], share_status(bob)["install_id"]
    wait_for(lambda: rows_of(hub.lake, alice_id) == 20 and rows_of(hub.lake, bob_id) == 20, "both installs")
    for process in processes:
        _finish(process)

    # Bob cannot delete Alice's rows: he does not hold her key, and her install id (the hash that travels
    # with her data) is not a key.
    for key in (alice_id, "ab" * 32):
        answer = httpx.post(hub.endpoint + "/v1/delete", json={"deletion_key": key})
        assert answer.status_code == 200 and answer.json()["removed_rows"] == 0
    assert rows_of(hub.lake, alice_id) == 20

    cli(alice, "share", "disable", "--delete")
    assert rows_of(hub.lake, alice_id) == 0 and rows_of(hub.lake, bob_id) == 20
    status = share_status(alice)
    assert status["pending_deletions"] == 0
    assert [(c["install_id"], c["removed_rows"]) for c in status["confirmed_deletions"]] == [(alice_id, 20)]
    assert status["install_id"] != alice_id  # a new key for whatever is shared next
    assert _ledger(alice)[-2:] == ["share_revoked", "share_deletion_confirmed"]


def test_the_sender_misses_nothing_another_process_spooled(hub: Hub, tmp_path: Path) -> None:
    # Two processes of one install trickle events at once; the first holds the sender lock and reads the
    # second's events only once their spool is merged (every 3 s). Its own events are in DuckDB as soon as
    # it reads, so its cursor runs ahead: the default settle time must cover the merge interval, or the
    # second process's events would be left behind the cursor.
    home = tmp_path / "install"
    cli(home, "enable")
    cli(home, "share", "enable", "--endpoint", hub.endpoint)
    timing = {
        "PEFT_TELEMETRY_SHARE_SETTLE_S": "",  # the default, from the settings below
        "PEFT_TELEMETRY_FLUSH_INTERVAL_S": "0.05",
        "PEFT_TELEMETRY_MERGE_INTERVAL_S": "3",
        "PEFT_TELEMETRY_LOCK_TIMEOUT_S": "0.5",
    }
    # Whichever of the two holds the sender lock, the other's events reach DuckDB up to 3 s late.
    first = start_install(home, 40, 30, tag="trickle-first", **timing)
    second = start_install(home, 40, 12, tag="trickle-second", **timing)
    try:
        install_id = share_status(home)["install_id"]
        wait_for(lambda: rows_of(hub.lake, install_id) >= 80, "both processes' 80 events", timeout_s=120)
        second.wait(60)
        assert rows_of(hub.lake, install_id) == 80
    finally:
        for process in (first, second):
            _finish(process)
