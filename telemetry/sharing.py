"""Sharing anonymized telemetry with a fleet hub: the second consent and the worker that sends.

Off by default, possible only while local recording is on, revocable on its own (recording goes on), and
every change is written to the consent ledger (``share_granted``, ``share_revoked``,
``share_deletion_confirmed``)::

    from telemetry.sharing import enable_sharing, disable_sharing, sharing_status
    enable_sharing(service, "http://hub.example:4318/fleet/<token>")
    disable_sharing(service, delete=True)  # and ask the hub to delete what was shared

The event log is the outbox. One worker thread per data home (a file lock picks the process) reads the
spans recorded since sharing was enabled, after the cursor of the last batch the hub confirmed, and sends
them (exporters.sharing); then the metric points, after a cursor of their own, the same way. The hub
drops spans and points it already has by their stable id (install, trace, span; install and the point's
identity), so a batch resent after a crash or a lost answer is never counted twice. Revocation is checked before
every batch and every retry. This module is imported only once the user chose to share (contract 4).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from exporters.lake.schema import INSTALL_ATTRIBUTE
from telemetry import sharing_state as st

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

_logger = logging.getLogger(__name__)
SENDER_LOCK = "sharing.sender.lock"
_PENDING_RETRY_S = 30.0


class ShareError(ValueError):
    """Sharing cannot be configured as asked (recording is off, the endpoint is not an http(s) URL)."""


def check_endpoint(url: str) -> str:
    """The endpoint as given, if it is an absolute http(s) URL; raises :class:`ShareError` otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ShareError("the endpoint must be an http(s) URL such as http://hub:4318/fleet/<token>")
    return url.strip().rstrip("/")


def masked(endpoint: str | None) -> str | None:
    """The endpoint without its credential (the last path segment), for status output and logs."""
    if not endpoint:
        return endpoint
    head, _, tail = endpoint.rpartition("/")
    return f"{head}/{tail[:4]}…" if "/fleet" in head and tail else endpoint


# -- the consent -----------------------------------------------------------------------------------------


def enable_sharing(service: TelemetryService, endpoint: str, *, source: str = "api") -> dict[str, Any]:
    """Agree to share with ``endpoint`` from now on. Needs local recording on (raises :class:`ShareError`)."""
    endpoint = check_endpoint(endpoint)
    consent = service.consent
    consent.refresh()
    if not consent.enabled:
        raise ShareError("sharing needs local recording on: run `peft-telemetry enable` first")
    data_dir = service.settings.data_dir
    with st.locked(data_dir):
        state = st.load(data_dir)
        same = state is not None and state.endpoint == endpoint and consent.record.share_enabled
        if not same:
            # A new endpoint, or a new agreement: only what is recorded from now on, under a new key.
            st.save(data_dir, st.ShareState.fresh(endpoint, state))
    consent.set_sharing(True, endpoint)
    consent.save()
    service.append_ledger("share_granted", source)
    follow(service, "start")
    return sharing_status(service)


def disable_sharing(
    service: TelemetryService, *, delete: bool = False, source: str = "api", wait: bool = True
) -> dict[str, Any]:
    """Stop sharing (before the next batch); with ``delete``, ask the hub to delete everything shared
    (``wait=False``: the request is queued and confirmed in the background, as for ``delete_all``)."""
    consent = service.consent
    consent.refresh()
    consent.set_sharing(False)
    consent.save()
    service.append_ledger("share_revoked", source)
    stop_worker(service)
    if delete:
        request_deletion(service, source=source, wait=wait)
    return sharing_status(service)


def request_deletion(service: TelemetryService, *, source: str = "api", wait: bool = True) -> list[dict[str, Any]]:
    """Queue a deletion of everything shared under the current key, rotate the key, and try to have every
    queued deletion confirmed: now (``wait``; returns the confirmations, one ledger entry each), or on a
    background thread (returns at once). Unconfirmed requests stay queued and are retried."""
    data_dir = service.settings.data_dir
    with st.locked(data_dir):
        state = st.load(data_dir)
        if state is None:
            return []
        state.pending_deletions.append(st.PendingDeletion(endpoint=state.endpoint, deletion_key=state.deletion_key))
        st.save(data_dir, st.ShareState.fresh(state.endpoint, state))
    if not wait:
        threading.Thread(target=confirm_pending, args=(service,), kwargs={"source": source},
                         name="peft-share-delete", daemon=True).start()  # fmt: skip
        return []
    return confirm_pending(service, source=source)


def confirm_pending(service: TelemetryService, *, source: str = "api") -> list[dict[str, Any]]:
    """Send every queued deletion request; each confirmed one leaves the queue and enters the ledger."""
    from exporters.sharing import request_deletion as ask_hub

    data_dir = service.settings.data_dir
    state = st.load(data_dir)
    confirmed: list[dict[str, Any]] = []
    for pending in list(state.pending_deletions if state else []):
        try:
            answer = ask_hub(pending.endpoint, pending.deletion_key)
        except (ConnectionError, ValueError):
            continue  # offline: stays queued, retried by the worker or the next tick
        confirmation = st.Confirmation(
            install_id=str(answer.get("install_id")),
            removed_rows=int(answer.get("removed_rows", 0)),
            confirmed_ns=int(answer.get("confirmed_ns", time.time_ns())),
        )
        with st.locked(data_dir):
            current = st.load(data_dir)
            left = [p for p in current.pending_deletions if p.deletion_key != pending.deletion_key] if current else []
            if current is None or len(left) == len(current.pending_deletions):
                continue  # another thread or process had it confirmed and recorded first
            current.pending_deletions = left
            current.confirmations.append(confirmation)
            st.save(data_dir, current)
        service.append_ledger("share_deletion_confirmed", source)
        confirmed.append(confirmation.model_dump())
    return confirmed


def sharing_status(service: TelemetryService) -> dict[str, Any]:
    """Where to, since when, how much was sent, and what deletions are pending or confirmed."""
    return status_of(service.consent, service.settings.data_dir)


def status_of(consent: Any, data_dir: Any) -> dict[str, Any]:
    state = st.load(data_dir)
    record = consent.record
    return {
        "sharing": bool(consent.sharing),
        "agreed": record.share_enabled,
        "recording": consent.enabled,
        "endpoint": masked(record.share_endpoint),
        "changed_at": record.share_changed_at.isoformat() if record.share_changed_at else None,
        "since_ns": state.since_ns if state else None,
        "install_id": state.install_id if state else None,
        "sent_spans": state.sent_spans if state else 0,
        "sent_batches": state.sent_batches if state else 0,
        "refused_spans": state.refused_spans if state else 0,
        "sent_points": state.sent_points if state else 0,
        "refused_points": state.refused_points if state else 0,
        "last_sent_ns": state.last_sent_ns if state else None,
        "pending_deletions": len(state.pending_deletions) if state else 0,
        "confirmed_deletions": [c.model_dump() for c in state.confirmations] if state else [],
    }


# -- the worker ------------------------------------------------------------------------------------------

_workers: dict[int, _Worker] = {}
_workers_lock = threading.Lock()
_last_pending_try: dict[int, float] = {}


def follow(service: TelemetryService, event: str) -> None:
    """The service's one hook: ``start`` and ``tick`` (every consent poll) start the worker while sharing
    is on; ``delete_all`` asks the hub to delete what was shared; ``shutdown`` stops the worker."""
    if event == "shutdown":
        stop_worker(service)
        return
    if event == "delete_all":
        stop_worker(service)
        request_deletion(service, source="delete_all", wait=False)  # never holds delete_all up
    if service.consent.sharing:
        with _workers_lock:
            worker = _workers.get(id(service))
            if worker is None or not worker.is_alive():
                worker = _Worker(service)
                _workers[id(service)] = worker
                worker.start()
        return
    now = time.monotonic()
    if event == "tick" and now - _last_pending_try.get(id(service), float("-inf")) >= _PENDING_RETRY_S:
        _last_pending_try[id(service)] = now
        state = st.load(service.settings.data_dir)
        if state is not None and state.pending_deletions:
            threading.Thread(target=confirm_pending, args=(service,), name="peft-share-delete", daemon=True).start()


def stop_worker(service: TelemetryService, timeout_s: float = 2.0) -> None:
    with _workers_lock:
        worker = _workers.pop(id(service), None)
    if worker is not None:
        worker.stop.set()
        if worker is not threading.current_thread():
            worker.join(timeout_s)


class _Worker(threading.Thread):
    """Sends batches while sharing is on; exits when it is revoked (the next tick starts a new one)."""

    def __init__(self, service: TelemetryService) -> None:
        super().__init__(name="peft-telemetry-share", daemon=True)
        self.service = service
        self.stop = threading.Event()
        settings = service.settings
        self.interval_s = settings.share_interval_s
        settle_s = settings.share_settle_s
        if settle_s is None:
            # A span reaches DuckDB up to a flush plus a merge interval after it ended (plus a lock wait).
            settle_s = 2 * settings.flush_interval_s + settings.merge_interval_s + settings.lock_timeout_s + 1.0
        self.settle_ns = int(settle_s * 1e9)
        self.batch = settings.share_batch

    def sharing(self) -> bool:
        if self.stop.is_set():
            return False
        consent = self.service.consent
        consent.refresh()  # a stat of two files: `share disable` in another process stops the next batch
        return bool(consent.sharing)

    def run(self) -> None:
        data_dir = self.service.settings.data_dir
        fd = os.open(data_dir / SENDER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while self.sharing():
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # another process of this data home sends
                    self.stop.wait(self.interval_s)
                    continue
                try:
                    sent = self._send_one()
                    sent = self._send_points() or sent
                except Exception:
                    self.service._internal_error("sharing")
                    sent = False
                if not sent:
                    self.stop.wait(self.interval_s)
        finally:
            os.close(fd)

    def _send_one(self) -> bool:
        """One batch; True if something was delivered (so the next batch follows at once)."""
        from exporters.sharing import Cursor, encode_batch, post_with_retry, read_batch

        data_dir = self.service.settings.data_dir
        state = st.load(data_dir)
        if state is None:
            return False
        if state.pending_deletions:
            confirm_pending(self.service, source="sharing")
        until = time.time_ns() - self.settle_ns
        cursor = Cursor(state.cursor_end_ns, state.cursor_trace_id, state.cursor_span_id)
        if cursor.end_ns > until:
            cursor = Cursor(self._stepped_back(until, "cursor_end_ns"))
        batch = read_batch(self.service.event_log, cursor, since_ns=state.since_ns, until_ns=until, limit=self.batch)
        if batch is None:
            return False
        body = encode_batch(batch.spans, state.install_id, INSTALL_ATTRIBUTE)
        delivery = post_with_retry(state.endpoint + "/v1/traces", body, stop=self.stop, should_continue=self.sharing)
        if delivery.outcome not in ("delivered", "refused"):
            if delivery.outcome == "unauthorized":
                _logger.warning("telemetry: the fleet hub refused the credential (HTTP %s)", delivery.status)
            return False
        with st.locked(data_dir):
            current = st.load(data_dir)
            if current is None or current.deletion_key != state.deletion_key:
                return False  # rotated meanwhile (a deletion): the new key starts from its own cursor
            current.cursor_end_ns, current.cursor_trace_id, current.cursor_span_id = (
                batch.last.end_ns, batch.last.trace_id, batch.last.span_id,
            )  # fmt: skip
            if delivery.outcome == "delivered":
                current.sent_spans += len(batch.spans)
                current.sent_batches += 1
                current.last_sent_ns = time.time_ns()
            else:
                current.refused_spans += len(batch.spans)
            st.save(data_dir, current)
        return True

    def _stepped_back(self, until: int, field: str) -> int:
        """The clock reads earlier than a cursor (stepped back: NTP, a restored VM): what ends from now on
        would sort before it and never be sent. The cursor is moved (and saved) to a little before the step
        can have happened (a tick ago, plus margins); what was sent already comes again with its share_id,
        which the hub and the readers drop. ``since_ns`` stays: nothing from before sharing began is sent."""
        back = until - self.settle_ns - int(2 * self.interval_s * 1e9) - 60 * 10**9
        data_dir = self.service.settings.data_dir
        with st.locked(data_dir):
            current = st.load(data_dir)
            if current is not None and getattr(current, field) > until:
                setattr(current, field, back)
                if field == "cursor_end_ns":
                    current.cursor_trace_id = current.cursor_span_id = ""
                st.save(data_dir, current)
        _logger.warning("telemetry: the clock went back behind the sharing cursor; sending resumes from now")
        return back

    def _send_points(self) -> bool:
        """One batch of metric points (whole collections); True if something was delivered."""
        from exporters.sharing import encode_points, post_with_retry, read_points

        data_dir = self.service.settings.data_dir
        state = st.load(data_dir)
        if state is None:
            return False
        until = time.time_ns() - self.settle_ns
        after = state.metrics_cursor_ns
        if after > until:
            after = self._stepped_back(until, "metrics_cursor_ns")
        batch = read_points(self.service.event_log, after, since_ns=state.since_ns, until_ns=until,
                            limit=self.batch)  # fmt: skip
        if batch is None:
            return False
        delivery = "delivered"
        if batch.points:  # else only non-finite values (never sent): the cursor moves past them
            body = encode_points(batch.data, state.install_id, INSTALL_ATTRIBUTE)
            answer = post_with_retry(state.endpoint + "/v1/metrics", body, stop=self.stop,
                                     should_continue=self.sharing)  # fmt: skip
            if answer.outcome not in ("delivered", "refused"):
                return False
            delivery = answer.outcome
        with st.locked(data_dir):
            current = st.load(data_dir)
            if current is None or current.deletion_key != state.deletion_key:
                return False  # rotated meanwhile (a deletion): the new key starts from its own cursor
            current.metrics_cursor_ns = batch.last_ns
            if delivery == "delivered":
                current.sent_points += batch.points
                current.last_sent_ns = time.time_ns()
            else:
                current.refused_points += batch.points
            st.save(data_dir, current)
        return True
