"""Consent and the anonymous identity, persisted in the config file.

The file ``<home>/config/telemetry_config.json`` holds whether the user agreed, when, under which policy
version, and the anonymous id. It is written atomically and owner-only. Withdrawing consent is durable
before ``set_enabled(False)`` returns (the file is fsynced then): a crash right after an opt-out never
brings consent back. A file that is empty, truncated or not ours means *consent off*: it is moved aside
for inspection (``*.corrupt-<time>``) and never crashes the app.

The anonymous id is HMAC-SHA256 over machine information, keyed with a random per-install secret kept in
its own file (mode 0600) and never recorded or exported: nobody holding the machine's identifiers can
recompute the id, and rotating the secret (when the user erases their data) gives a new, unlinkable one.

Nothing is written until it is needed: loading only reads. The secret and the id are created the first
time something asks for them (consent given, the consent page showing the id), so an app whose user never
opts in leaves no file behind.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telemetry._files import atomic_write, remove_stale_temp_files, secure_home

_logger = logging.getLogger(__name__)

_SECRET_BYTES = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ConsentRecord(BaseModel):
    """What the config file holds."""

    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    anonymous_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    created_at: datetime | None = None
    consent_changed_at: datetime | None = None
    policy_version: str | None = None
    #: The second, separate consent: share anonymized telemetry with a fleet hub (telemetry/sharing.py).
    share_enabled: bool = False
    share_endpoint: str | None = None
    share_changed_at: datetime | None = None


class ConsentStore:
    """Loads, holds and saves consent; the ``enabled`` attribute is the hot-path flag.

    ``enabled`` is the *effective* state: the user's choice, unless ``DO_NOT_TRACK`` forces it off.
    Reading it is one attribute load, cheap enough for every ``track_*`` call and every sampled span.
    """

    def __init__(self, config_path: Path, secret_path: Path, *, do_not_track: bool, policy_version: str):
        self._config_path = config_path
        self._secret_path = secret_path
        self.do_not_track = do_not_track
        self.policy_version = policy_version
        self._lock = threading.RLock()
        if config_path.parent.name == "config":  # the data home's layout: <home>/config/<file>
            secure_home(config_path.parent.parent)
        remove_stale_temp_files(config_path.parent)
        self._secret: bytes | None = None
        self._anonymous_id: str | None = None
        self.record = self._load_record()
        self.enabled = self.record.enabled and not do_not_track
        self._seen = self._file_state()

    def _ensure_identity(self) -> tuple[bytes, str]:
        """The secret and the id, read or created (and saved) on first use."""
        secret, anonymous_id = self._secret, self._anonymous_id
        if secret is not None and anonymous_id is not None:
            return secret, anonymous_id
        with self._lock:
            if self._secret is None:
                self._secret = self._load_or_create_secret()
            self._anonymous_id = self._derive_anonymous_id()
            if self.record.anonymous_id != self._anonymous_id or self.record.created_at is None:
                self.record = self.record.model_copy(
                    update={"anonymous_id": self._anonymous_id, "created_at": self.record.created_at or _now()}
                )
                self._save_quietly()
            return self._secret, self._anonymous_id

    @property
    def anonymous_id(self) -> str:
        """The id the user is known by; created (with the secret) the first time it is asked for."""
        return self._ensure_identity()[1]

    @property
    def identity_created(self) -> bool:
        """Whether the secret and id exist in this process yet (reading them would create them)."""
        return self._anonymous_id is not None

    # -- what the rest of the system reads -----------------------------------------------------------

    @property
    def user_choice(self) -> bool:
        """What the user chose, before DO_NOT_TRACK is applied."""
        return self.record.enabled

    @property
    def reason(self) -> str:
        if self.do_not_track:
            return "DO_NOT_TRACK is set"
        return "enabled in the config file" if self.record.enabled else "not enabled (the default)"

    @property
    def sharing(self) -> bool:
        """Sharing with the fleet hub is on: agreed to on its own, and only while recording is on."""
        return self.enabled and self.record.share_enabled and self.record.share_endpoint is not None

    def withdrawn_at_ns(self, *, refresh: bool = True) -> int | None:
        """When the user withdrew consent (ns since the epoch), or None while consent holds.

        ``refresh`` first re-reads the files (a stat of two files unless something changed), so an opt-out
        written by another process is seen at once. Runs on the export worker, once per batch.
        """
        if refresh:
            self.refresh()
        record = self.record
        if record.enabled or record.consent_changed_at is None:
            return None  # on (or DO_NOT_TRACK, which records nothing anyway), or never chosen
        changed = record.consent_changed_at
        if changed.tzinfo is None:
            changed = changed.replace(tzinfo=UTC)
        return (changed - _EPOCH) // timedelta(microseconds=1) * 1_000

    def set_sharing(self, enabled: bool, endpoint: str | None = None) -> None:
        """Record the sharing choice in memory (persist with :meth:`save`); the endpoint is kept after
        revocation, so a later deletion request knows where to go."""
        with self._lock:
            update: dict[str, object] = {"share_enabled": enabled, "share_changed_at": _now()}
            if endpoint is not None:
                update["share_endpoint"] = endpoint
            self.record = self.record.model_copy(update=update)

    def secret(self) -> bytes:
        """The per-install key for HMACs; never stored in the event log, never exported."""
        return self._ensure_identity()[0]

    # -- changes -------------------------------------------------------------------------------------

    def set_enabled(self, enabled: bool) -> bool:
        """Record the user's choice in memory at once. Returns the effective state.

        Granting is persisted by :meth:`save` (in the background). Withdrawing is written and fsynced
        here, before returning: an opt-out must survive a crash that follows it. A failed write is
        logged (the choice still holds for this run) and raised again by the later :meth:`save`.
        """
        with self._lock:
            self.record = self.record.model_copy(
                update={
                    "enabled": enabled,
                    # Sharing only exists while recording is on: withdrawing consent withdraws both.
                    "share_enabled": self.record.share_enabled and enabled,
                    "consent_changed_at": _now(),
                    "policy_version": self.policy_version,
                }
            )
            self.enabled = enabled and not self.do_not_track
            if not enabled:
                try:
                    self._write_locked()
                except OSError as exc:
                    _logger.error(
                        "telemetry: the opt-out could not be saved (%s); it holds for this run only. "
                        "Free disk space or make %s writable, then opt out again",
                        type(exc).__name__,
                        self._config_path.parent,
                    )
            return self.enabled

    def rotate_identity(self) -> str:
        """New secret, new anonymous id: nothing recorded afterwards links to what came before."""
        with self._lock:
            self._secret = secrets.token_bytes(_SECRET_BYTES)
            atomic_write(self._secret_path, self._secret.hex().encode(), mode=0o600)
            self._seen = self._file_state()
            self._anonymous_id = self._derive_anonymous_id()
            self.record = self.record.model_copy(update={"anonymous_id": self._anonymous_id})
            return self._anonymous_id

    def save(self) -> None:
        """Write the record durably (temp file, fsync, rename, fsync of the folder)."""
        self._ensure_identity()  # a saved choice always carries the id it was made under
        with self._lock:
            self._write_locked()

    def _write_locked(self) -> None:
        data = self.record.model_dump_json(indent=2).encode()
        atomic_write(self._config_path, data, mode=0o600)
        self._seen = self._file_state()

    def refresh(self) -> bool:
        """Pick up a change another process made (``peft-telemetry disable``, the service's delete).

        A stat of two small files, cheap enough for a timer. Returns True if anything changed.
        """
        state = self._file_state()
        if state == self._seen:
            return False
        with self._lock:
            self._seen = state
            secret = self._read_secret()
            if secret is not None and secret != self._secret and self._secret is not None:
                self._secret = secret
                self._anonymous_id = self._derive_anonymous_id()
            try:
                raw = self._config_path.read_bytes()
                self.record = ConsentRecord.model_validate_json(raw)
            except (OSError, ValidationError):
                return False  # mid-write or damaged: keep what we have; the next start sets it aside
            self.enabled = self.record.enabled and not self.do_not_track
            return True

    def _file_state(self) -> tuple[int, int, int, int]:
        def stat(path: Path) -> tuple[int, int]:
            try:
                st = path.stat()
                return st.st_mtime_ns, st.st_ino
            except OSError:
                return 0, 0

        return (*stat(self._config_path), *stat(self._secret_path))

    def _read_secret(self) -> bytes | None:
        try:
            secret = bytes.fromhex(self._secret_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return secret if len(secret) == _SECRET_BYTES else None

    # -- loading -------------------------------------------------------------------------------------

    def _save_quietly(self) -> None:
        try:
            self.save()
        except OSError as exc:
            _logger.warning("telemetry: cannot write the consent file (%s); consent stays off", type(exc).__name__)

    def _load_record(self) -> ConsentRecord:
        try:
            raw = self._config_path.read_bytes()
        except FileNotFoundError:
            return ConsentRecord()
        except OSError as exc:
            _logger.warning("telemetry: cannot read the consent file (%s); consent is off", type(exc).__name__)
            return ConsentRecord()
        try:
            return ConsentRecord.model_validate_json(raw)
        except ValidationError:
            self._set_aside(self._config_path)
            return ConsentRecord()

    def _load_or_create_secret(self) -> bytes:
        try:
            text = self._secret_path.read_text().strip()
            secret = bytes.fromhex(text)
            if len(secret) == _SECRET_BYTES:
                return secret
            self._set_aside(self._secret_path)
        except FileNotFoundError:
            pass
        except ValueError:  # not hex: damaged
            self._set_aside(self._secret_path)
        except OSError as exc:
            # Unreadable (permissions, I/O) is not damaged: replacing the file would rotate the install's id
            # for good. It stays for when it can be read again; this run uses a key of its own, not saved.
            _logger.warning(
                "telemetry: cannot read %s (%s); this run uses a temporary anonymous id. Make the file readable "
                "by this user to keep the install's id",
                self._secret_path.name,
                type(exc).__name__,
            )
            return secrets.token_bytes(_SECRET_BYTES)
        secret = secrets.token_bytes(_SECRET_BYTES)
        try:
            atomic_write(self._secret_path, secret.hex().encode(), mode=0o600)
        except OSError as exc:
            # Still usable for this run; the id just will not survive a restart.
            _logger.warning("telemetry: cannot write the install secret (%s)", type(exc).__name__)
        return secret

    def _set_aside(self, path: Path) -> None:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        try:
            os.replace(path, aside)
        except OSError:
            aside = path
        _logger.error(
            "telemetry: %s was damaged; it was moved to %s and consent is off until the user chooses again",
            path.name,
            aside.name,
        )

    def _derive_anonymous_id(self) -> str:
        assert self._secret is not None
        return hmac.new(self._secret, _machine_fingerprint(), hashlib.sha256).hexdigest()[:16]


def _machine_fingerprint() -> bytes:
    """Stable machine information. It only ever enters a keyed HMAC and is never stored."""
    import platform  # here: only needed once the identity is created
    import uuid

    parts = [platform.system(), platform.machine(), platform.node(), f"{uuid.getnode():x}"]
    for candidate in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            parts.append(Path(candidate).read_text().strip())
            break
        except OSError:
            continue
    return "\x1f".join(parts).encode()


def _now() -> datetime:
    return datetime.now(UTC)
