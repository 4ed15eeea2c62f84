"""The inter-process lock. flock locks belong to open file descriptions, so two FileLock objects in one
process contend exactly like two processes do."""

from __future__ import annotations

import threading
from pathlib import Path

from exporters.eventlog.lock import FileLock


def test_a_second_holder_waits_then_gets_the_lock_when_released(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "db.lock"), FileLock(tmp_path / "db.lock")
    try:
        assert first.acquire(1)
        assert not first.contended()
        got: list[bool] = []
        waiter = threading.Thread(target=lambda: got.append(second.acquire(30)))
        waiter.start()
        while not first.contended():  # the waiter announces itself on the want file
            waiter.join(0.01)
        assert got == []
        first.release()
        waiter.join()
        assert got == [True] and second.held
    finally:
        first.close()
        second.close()


def test_a_timed_out_wait_does_not_keep_the_lock_later(tmp_path: Path) -> None:
    holder, quitter, third = (FileLock(tmp_path / "db.lock") for _ in range(3))
    try:
        assert holder.acquire(1)
        assert quitter.acquire(0.05) is False
        assert not holder.contended(), "a waiter that gave up still announces itself"
        holder.release()
        # The quitter's helper thread may get the lock after the fact; it must hand it straight back.
        assert third.acquire(30)
        third.release()
        assert quitter.acquire(30), "an abandoned wait blocks later acquires"
        quitter.release()
    finally:
        for lock in (holder, quitter, third):
            lock.close()


def test_a_listening_holder_is_told_when_someone_starts_waiting(tmp_path: Path) -> None:
    rung = threading.Event()
    holder = FileLock(tmp_path / "db.lock", on_waiter=rung.set)
    waiter = FileLock(tmp_path / "db.lock")
    try:
        assert holder.acquire(1)
        assert holder.listening
        got: list[bool] = []
        thread = threading.Thread(target=lambda: got.append(waiter.acquire(30)))
        thread.start()
        assert rung.wait(30), "the waiter's ring did not reach the holder"
        assert holder.contended()
        holder.release()
        assert not holder.listening
        thread.join()
        assert got == [True]
        waiter.release()
        # Released means unbound: the next holder (here the same lock again) can listen.
        assert holder.acquire(1) and holder.listening
    finally:
        holder.close()
        waiter.close()
