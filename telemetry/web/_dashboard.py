"""``GET /dashboard``: the page, streamed, with the default report in it, so the first draw needs no request.

The page is sent in two parts. The first, everything up to the end of the body, leaves at once: the browser
shows the page and fetches its stylesheet and modules while the report is computed in the thread pool. The
second part is the report (what ``POST /api/telemetry/analytics`` answers for an empty filter) in an inert
JSON block, then ``</body></html>``. The query starts the moment the page is asked for instead of after
a script round trip. This is the only road by which the first report reaches the page.

The page's modules run after the document is parsed, so they find the block in place. When the report
cannot be computed (the event log is busy or broken) the block is left out and the page asks the API as
before, which explains the problem to the user; nothing here raises into the response.

The report is embedded only for a request carrying the server token, exactly like ``POST /analytics``
(the route checks it); the page's own headers keep it to itself (no framing, ``nosniff``, local
Host/Origin only via the server's middleware).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from typing import Final

from starlette.concurrency import run_in_threadpool

from analytics import Analytics, AnalyticsFilter
from exporters.eventlog import EventLogError
from telemetry.service import TelemetryService

_logger = logging.getLogger(__name__)

#: The element id the page reads (ui/src/page/main.tsx).
REPORT_ID: Final = "dashboard-report"
_OPEN: Final = f'<script type="application/json" id="{REPORT_ID}">'.encode()
_CLOSE: Final = b"</script>\n"

_failures = 0
_failures_lock = threading.Lock()


def report_json(service: TelemetryService) -> bytes | None:
    """The default report as JSON safe inside ``<script>``, or None when it cannot be read now."""
    global _failures
    try:
        report = Analytics(service.event_log.reader).report(AnalyticsFilter())
    except EventLogError:
        return None  # busy, closed or damaged: the page's own request shows why
    except Exception as exc:  # never break the page over its data
        with _failures_lock:
            _failures += 1
            first = _failures == 1
        if first:  # the type only: a message could quote stored values
            _logger.error(
                "dashboard: the embedded report failed (%s); further failures are counted", type(exc).__name__
            )
        return None
    # Event names are user data: "</script>" in one must not end the block. JSON allows "<" as \u003c.
    return report.model_dump_json().encode().replace(b"<", b"\\u003c")


async def stream_page(head: bytes, tail: bytes, service: TelemetryService) -> AsyncIterator[bytes]:
    """``head``, then the report block (if any), then ``tail``."""
    yield head
    data = await run_in_threadpool(report_json, service)
    yield (_OPEN + data + _CLOSE + tail) if data is not None else tail
