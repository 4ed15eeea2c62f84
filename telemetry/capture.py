"""Automatic error capture: uncaught exceptions in the main thread, worker threads and asyncio tasks.

With consent on (and ``capture_exceptions`` left at its default), the service installs three hooks:

* ``sys.excepthook``: an exception that ends the program is recorded and **flushed to disk** (bounded by
  ``shutdown_timeout_s``) before the previous hook prints it and the process dies;
* ``threading.excepthook``: an exception that ends a worker thread, flushed the same way;
* every asyncio loop's ``call_exception_handler`` (patched on ``asyncio.BaseEventLoop``, so loops created
  later by ``asyncio.run`` are covered too): "Task exception was never retrieved" and failing callbacks.
  The loop is never blocked: these are written by the background worker like any other event.

Each hook records the error and then calls whatever was installed before it, so pytest, Sentry or a
custom hook keep working. ``shutdown()`` restores the previous hooks (only where ours is still the one
installed: a hook that someone chained on top of ours is left alone, and ours then just passes through).
Turn it off with ``PEFT_TELEMETRY_CAPTURE_EXCEPTIONS=0``.

:class:`TelemetryLogHandler` is the opt-in fourth road: ``logger.exception(...)`` and other ERROR records
that carry ``exc_info`` become recorded errors::

    logging.getLogger().addHandler(telemetry.TelemetryLogHandler())
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

_logger = logging.getLogger(__name__)
_lock = threading.RLock()
_target: TelemetryService | None = None
_previous_sys: Callable[[type[BaseException], BaseException, TracebackType | None], Any] | None = None
_previous_thread: Callable[[threading.ExceptHookArgs], Any] | None = None
_previous_loop_handler: Callable[[Any, dict[str, Any]], None] | None = None
_failures = 0


def install(service: TelemetryService) -> None:
    """Send uncaught exceptions to ``service`` (the latest caller wins); hooks are installed once."""
    global _target, _previous_sys, _previous_thread, _previous_loop_handler
    with _lock:
        _target = service
        if _previous_sys is None:
            _previous_sys, sys.excepthook = sys.excepthook, _sys_hook
        if _previous_thread is None:
            _previous_thread, threading.excepthook = threading.excepthook, _thread_hook
        if _previous_loop_handler is None:
            import asyncio

            _previous_loop_handler = asyncio.BaseEventLoop.call_exception_handler
            asyncio.BaseEventLoop.call_exception_handler = _loop_handler  # type: ignore[method-assign,assignment]


def uninstall(service: TelemetryService) -> None:
    """Restore the previous hooks if ``service`` is the one they report to (called by ``shutdown()``)."""
    global _target, _previous_sys, _previous_thread, _previous_loop_handler
    with _lock:
        if _target is not service:
            return
        _target = None
        if _previous_sys is not None and sys.excepthook is _sys_hook:
            sys.excepthook, _previous_sys = _previous_sys, None
        if _previous_thread is not None and threading.excepthook is _thread_hook:
            threading.excepthook, _previous_thread = _previous_thread, None
        if _previous_loop_handler is not None:
            import asyncio

            if asyncio.BaseEventLoop.__dict__.get("call_exception_handler") is _loop_handler:
                asyncio.BaseEventLoop.call_exception_handler = _previous_loop_handler  # type: ignore[method-assign,assignment]
                _previous_loop_handler = None


def installed_for() -> TelemetryService | None:
    """The service uncaught exceptions currently go to, if any."""
    return _target


def _record(exc: BaseException | None, mechanism: str, *, flush: bool) -> None:
    global _failures
    service = _target
    if service is None or exc is None or not isinstance(exc, Exception):
        return  # KeyboardInterrupt, SystemExit and friends are how programs stop, not errors
    try:
        service.track_error_sync(exc, {"mechanism": mechanism, "handled": False})
        if flush and service.is_enabled():
            # The process (or thread) is about to die of this: make it durable first, bounded.
            service.flush(timeout_s=service.settings.shutdown_timeout_s)
    except Exception:
        _failures += 1
        if _failures == 1:
            _logger.error("telemetry: recording an uncaught exception failed; further failures are counted")


def _sys_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    _record(exc, "sys.excepthook", flush=True)
    previous = _previous_sys or sys.__excepthook__
    previous(exc_type, exc, tb)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    _record(args.exc_value, "threading.excepthook", flush=True)
    previous = _previous_thread or threading.__excepthook__
    previous(args)


def _loop_handler(loop: Any, context: dict[str, Any]) -> None:
    _record(context.get("exception"), "asyncio", flush=False)
    previous = _previous_loop_handler
    if previous is None:  # restored meanwhile; the class's own method is the original again
        import asyncio

        previous = asyncio.BaseEventLoop.call_exception_handler
    previous(loop, context)


#: Loggers whose records never become errors: ours (an internal fault must not feed itself).
_OWN_LOGGERS = ("telemetry", "processors", "exporters", "analytics")


class TelemetryLogHandler(logging.Handler):
    """A :class:`logging.Handler` that records ERROR records carrying ``exc_info`` as errors (opt-in).

    >>> logging.getLogger().addHandler(TelemetryLogHandler())
    >>> try:
    ...     load_model()
    ... except OSError:
    ...     logger.exception("could not load the model")   # recorded, with the logger's name as context

    The log message itself is not stored (it is free text); the exception's type, first message line and
    frames are, after anonymization, exactly as ``track_error`` stores them. ``service`` defaults to the
    process-wide one (``get_telemetry()``).
    """

    def __init__(self, level: int = logging.ERROR, *, service: TelemetryService | None = None) -> None:
        super().__init__(level)
        self._service = service
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or record.name.split(".", 1)[0] in _OWN_LOGGERS or getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            if self._service is not None:
                self._service.track_error_sync(exc, {"mechanism": "logging", "logger": record.name})
            else:
                from telemetry.api import track_error_sync

                track_error_sync(exc, {"mechanism": "logging", "logger": record.name})
        except Exception:
            self.handleError(record)
        finally:
            self._busy.on = False
