"""``timed``: the everyday form of ``track_performance`` — time a block or a function.

>>> with timed("model_load_time"):
...     load_model()
>>> @timed("training_step_time")
... def step(batch): ...
>>> @timed("generate_time", unit="s")
... async def generate(prompt): ...
>>> async with timed("download_time"):
...     await download()

The measurement is recorded when the block or call ends, also when it raises (the exception propagates
unchanged). Recording is the ``track_performance`` fast path: it never raises and never blocks.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

F = TypeVar("F", bound=Callable[..., Any])

#: Open ``with timed(...)`` blocks of this context (thread or asyncio task), as (id(timer), start_ns): one
#: instance may be entered concurrently from several threads or tasks, and nested. One variable for all
#: timers, so the context never grows with the number of timers.
_STARTS: ContextVar[tuple[tuple[int, int], ...]] = ContextVar("telemetry_timed_starts", default=())

#: Nanoseconds per unit.
UNITS: Final = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


class timed:
    """Record how long a block, a function or a coroutine takes, as ``track_performance(name, value, unit)``.

    ``unit`` is one of ``ns``, ``us``, ``ms`` (default) or ``s``. ``service`` defaults to the process-wide
    one (``get_telemetry()``). One instance may decorate many functions and be entered many times, also
    concurrently (each entry keeps its own start time).
    """

    def __init__(self, name: str, unit: str = "ms", *, service: TelemetryService | None = None) -> None:
        if unit not in UNITS:
            raise ValueError(f"timed: unit must be one of {', '.join(UNITS)}, not {unit!r}")
        self.name = name
        self.unit = unit
        self._scale = UNITS[unit]
        self._service = service

    def _record(self, started_ns: int) -> None:
        value = (time.perf_counter_ns() - started_ns) / self._scale
        if self._service is not None:
            self._service.track_performance_sync(self.name, value, self.unit)
        else:
            from telemetry.api import track_performance_sync

            track_performance_sync(self.name, value, self.unit)

    # -- context manager (sync and async) ---------------------------------------------------------------

    def __enter__(self) -> timed:
        _STARTS.set((*_STARTS.get(), (id(self), time.perf_counter_ns())))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack = _STARTS.get()
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == id(self):
                _STARTS.set(stack[:i] + stack[i + 1 :])
                self._record(stack[i][1])
                return

    async def __aenter__(self) -> timed:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- decorator (sync and async functions) -----------------------------------------------------------

    def __call__(self, func: F) -> F:
        import inspect

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter_ns()
                try:
                    return await func(*args, **kwargs)
                finally:
                    self._record(started)

            return cast(F, timed_coroutine)

        @functools.wraps(func)
        def timed_function(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter_ns()
            try:
                return func(*args, **kwargs)
            finally:
                self._record(started)

        return cast(F, timed_function)
