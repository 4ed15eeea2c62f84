"""What sharing remembers between runs: ``<data>/sharing.json``, changed only under a file lock.

* ``deletion_key``: 32 random bytes (hex). Its SHA-256 travels with every shared span as the install id;
  the key itself never leaves the install except in a deletion request, so only this install can ask the
  hub to delete its data. Rotated after every deletion.
* The cursor (``end_ns``, ``trace_id``, ``span_id`` of the last span the hub confirmed) and ``since_ns``
  (sharing was enabled then: nothing recorded before it is sent).
* ``metrics_cursor_ns``: ``time_ns`` of the last metric point the hub confirmed (0: none yet; points
  are sent from ``since_ns`` on).
* Counters for ``share status``, deletions still to be confirmed, and confirmations received.

Several processes may share a data home (the app, ``serve``, the CLI): every change re-reads the file
under ``sharing.lock`` and writes it atomically, and a sender whose key was rotated meanwhile drops its
cursor update instead of overwriting the new key.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from telemetry._files import atomic_write

STATE_FILE = "sharing.json"
LOCK_FILE = "sharing.lock"


class PendingDeletion(BaseModel):
    endpoint: str
    deletion_key: str = Field(pattern=r"^[0-9a-f]{64}$")


class Confirmation(BaseModel):
    install_id: str
    removed_rows: int
    confirmed_ns: int


class ShareState(BaseModel):
    deletion_key: str = Field(pattern=r"^[0-9a-f]{64}$")
    endpoint: str
    since_ns: int
    cursor_end_ns: int
    cursor_trace_id: str = ""
    cursor_span_id: str = ""
    sent_spans: int = 0
    sent_batches: int = 0
    refused_spans: int = 0
    metrics_cursor_ns: int = 0
    sent_points: int = 0
    refused_points: int = 0
    last_sent_ns: int | None = None
    pending_deletions: list[PendingDeletion] = []
    confirmations: list[Confirmation] = []

    @property
    def install_id(self) -> str:
        """What the hub stores: SHA-256 of the key (the key itself stays here)."""
        return install_id_of(self.deletion_key)

    @classmethod
    def fresh(cls, endpoint: str, previous: ShareState | None = None) -> ShareState:
        """A new key and a cursor at now; pending deletions and confirmations carried over."""
        now = time.time_ns()
        return cls(
            deletion_key=secrets.token_hex(32),
            endpoint=endpoint,
            since_ns=now,
            cursor_end_ns=now,
            pending_deletions=previous.pending_deletions if previous else [],
            confirmations=previous.confirmations if previous else [],
        )


def install_id_of(deletion_key: str) -> str:
    return hashlib.sha256(bytes.fromhex(deletion_key)).hexdigest()


def load(data_dir: Path) -> ShareState | None:
    try:
        return ShareState.model_validate_json((data_dir / STATE_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError):
        return None  # damaged: sharing starts afresh (a new key, a cursor at now) when next enabled


def save(data_dir: Path, state: ShareState) -> None:
    atomic_write(data_dir / STATE_FILE, state.model_dump_json(indent=2).encode(), mode=0o600)


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Hold the state lock (a few milliseconds: read, change, write)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
