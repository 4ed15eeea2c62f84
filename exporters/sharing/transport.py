"""Sending to the hub over HTTP: bounded retries with exponential backoff and full jitter.

Outcomes a caller acts on: ``delivered`` (advance the cursor), ``refused`` (the hub will never take this
batch, e.g. every span was invalid: advance, counted), ``unauthorized`` (wrong endpoint or credential: keep
the cursor and wait long), ``failed`` (offline, timeouts, 5xx, 429 after the retries: keep the cursor and
try again later). Nothing here raises on network faults.
"""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

_RETRYABLE: Final = frozenset({408, 429, 500, 502, 503, 504})
Outcome = Literal["delivered", "refused", "unauthorized", "failed", "stopped"]


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    status: int | None = None
    attempts: int = 0


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def post_with_retry(
    url: str,
    body: bytes,
    *,
    content_type: str = "application/x-protobuf",
    gzip_body: bool = True,
    attempts: int = 5,
    base_delay_s: float = 0.5,
    max_delay_s: float = 30.0,
    timeout_s: float = 10.0,
    stop: threading.Event | None = None,
    should_continue: Callable[[], bool] = lambda: True,
) -> Delivery:
    """POST ``body`` up to ``attempts`` times; waits ``uniform(0, min(max, base * 2**n))`` between tries
    (full jitter, so installs that lost the hub together do not come back in lockstep)."""
    headers = {"Content-Type": content_type}
    if gzip_body:
        headers["Content-Encoding"] = "gzip"
    stop = stop or threading.Event()
    status: int | None = None
    for attempt in range(attempts):
        if stop.is_set() or not should_continue():
            return Delivery("stopped", status, attempt)
        try:
            status, _ = _post(url, body, headers, timeout_s)
        except (OSError, ValueError):  # refused, reset, DNS, timeouts (URLError is an OSError)
            status = None
        if status is not None and 200 <= status < 300:
            return Delivery("delivered", status, attempt + 1)
        if status in (401, 403, 404):
            return Delivery("unauthorized", status, attempt + 1)
        if status is not None and status not in _RETRYABLE:
            return Delivery("refused", status, attempt + 1)
        if attempt + 1 < attempts:
            delay = random.uniform(0, min(max_delay_s, base_delay_s * 2**attempt))
            if stop.wait(delay):
                return Delivery("stopped", status, attempt + 1)
    return Delivery("failed", status, attempts)


def request_deletion(endpoint: str, deletion_key: str, *, attempts: int = 3, timeout_s: float = 10.0) -> dict[str, Any]:
    """Ask the hub to delete everything shared under ``deletion_key``; the hub's confirmation, or raises
    ``ConnectionError`` when it could not be had."""
    body = json.dumps({"deletion_key": deletion_key}).encode()
    url = endpoint.rstrip("/") + "/v1/delete"
    headers = {"Content-Type": "application/json"}
    for attempt in range(attempts):
        try:
            status, answer = _post(url, body, headers, timeout_s)
        except (OSError, ValueError):
            status, answer = None, b""
        if status == 200:
            confirmation: dict[str, Any] = json.loads(answer)
            if confirmation.get("deleted") is True:
                return confirmation
        if status is not None and status not in _RETRYABLE:
            break
        if attempt + 1 < attempts:
            threading.Event().wait(random.uniform(0, 0.5 * 2**attempt))
    raise ConnectionError(f"the hub did not confirm the deletion (HTTP {status})")
