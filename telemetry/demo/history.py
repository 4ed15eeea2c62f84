"""``peft-telemetry demo --days 28``: weeks of realistic history from a fleet of simulated installs.

Where :mod:`telemetry.demo.generate` records one user's work *now*, this records the past: ``installs``
simulated PEFT Studio installs over ``days`` days, so every insight has something to find:

* rhythm: installs work in their own time zones (mostly Europe and the Americas, some Asia), busiest in
  their afternoon, a third as busy at weekends: the UTC heatmap shows the blend;
* releases: a new app version every quarter of the period; each install upgrades a few hours to two days
  after a release (``service.version`` on the resource, as a real app reports it);
* a planted slowdown: from the third release on, ``load_model`` spans take 40% longer;
* a planted error burst: a Hub outage at 14:00 UTC on one weekday two thirds in, ``ConnectionError``s;
* a planted trend: ``adapter_merged`` (new in the last release) is used more and more in the last week;
* an A/B experiment, ``onboarding_checklist`` (control vs checklist, 50/50): each install's variant
  comes from its own secret exactly as :func:`telemetry.experiment` draws it, exposures once per
  session; the checklist raises ``tutorial_completed`` (30% -> 50% of installs) and shortens
  ``time_to_first_training``.

Everything goes through the real pipeline (consent gate, anonymizer, exporter): spans with explicit
past start and end times, built by ordinary OpenTelemetry tracers (one per app version, whose resource
carries it) attached to ``service.span_processor``, with the ``peft.*`` attributes ``track_*`` would set.

>>> summary = run_history(service, days=28, seed=1)
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from exporters.eventlog import schema
from telemetry.demo.generate import DemoSummary
from telemetry.experiments import choose_variant, design

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

HOUR_NS = 3_600 * 10**9
DAY_NS = 24 * HOUR_NS
EXPERIMENT = "onboarding_checklist"
VARIANTS = ("control", "checklist")
SLOW_SPAN = "load_model"
_CHECK_EVERY = 256
_TIME_ZONES = (-8, -7, -5, -5, -4, 0, 1, 1, 1, 2, 2, 3, 5.5, 8, 9)
_CONVERSION = {"control": 0.30, "checklist": 0.50}
_FIRST_RUN_MS = {"control": 95_000.0, "checklist": 80_000.0}


def versions_for(days: int) -> list[tuple[int, str]]:
    """(release day, version): four releases, one every quarter of the period."""
    names = ("1.0.0", "1.1.0", "1.2.0", "1.2.1")
    return [(round(i * days / 4), name) for i, name in enumerate(names)]


class _Install:
    def __init__(self, rng: random.Random) -> None:
        self.secret = rng.randbytes(32)
        # What the install's consent store derives (an HMAC under its secret): its anonymous id.
        self.unit = hmac.new(self.secret, b"demo-install", hashlib.sha256).hexdigest()[:16]
        self.variant = choose_variant(self.secret, EXPERIMENT, list(VARIANTS))
        self.offset_h = rng.choice(_TIME_ZONES)
        self.activity = rng.lognormvariate(-1.1, 0.6)  # sessions per weekday, heavy users and light ones
        self.upgrade_delay_ns = int(rng.uniform(2, 48) * HOUR_NS)
        self.converted = rng.random() < _CONVERSION[self.variant]
        self.tutorial_done = False


class _History:
    def __init__(self, service: TelemetryService, days: int, installs: int, rng: random.Random) -> None:
        self.service = service
        self.rng = rng
        self.days = days
        self.summary = DemoSummary()
        self.end_ns = time.time_ns() // HOUR_NS * HOUR_NS
        self.start_ns = self.end_ns - days * DAY_NS
        self.releases = [(self.start_ns + d * DAY_NS, v) for d, v in versions_for(days)]
        self.tracers = {v: self._tracer(v) for _, v in self.releases}
        self.installs = [_Install(rng) for _ in range(installs)]
        self.burst_ns = self._burst_hour()
        self.submitted = 0
        self.weights = list(design(EXPERIMENT, list(VARIANTS)).weights)

    def _tracer(self, version: str) -> Tracer:
        settings = self.service.settings
        resource = Resource.create({"service.name": settings.app_name, "service.version": version,
                                    "os.type": "linux", "host.arch": "x86_64"})  # fmt: skip
        # Not shut down, ever: shutting it down would shut the service's shared span processor down too.
        provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        provider.add_span_processor(self.service.span_processor)
        return provider.get_tracer("peft_studio.demo.history")

    def _burst_hour(self) -> int:
        day = (self.start_ns + round(self.days * 2 / 3) * DAY_NS) // DAY_NS * DAY_NS  # UTC midnight
        while ((day // DAY_NS) + 3) % 7 >= 5:  # a weekday: the outage hits a busy afternoon
            day += DAY_NS
        return day + 14 * HOUR_NS

    def version_of(self, install: _Install, t: int) -> str:
        current = self.releases[0][1]
        for released, version in self.releases:
            if t >= released + (0 if released == self.start_ns else install.upgrade_delay_ns):
                current = version
        return current

    # -- recording ---------------------------------------------------------------------------------

    def span(self, version: str, name: str, start: int, duration_ms: float, attributes: dict[str, Any],
             kind: SpanKind = SpanKind.INTERNAL, error: str | None = None) -> None:  # fmt: skip
        tracer = self.tracers[version]
        span = tracer.start_span(name, kind=kind, start_time=start, attributes=attributes)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=start + int(duration_ms * 1e6))
        self.submitted += 1
        self.summary.records += 1
        if self.submitted % _CHECK_EVERY == 0:
            self._wait_for_room()

    def _wait_for_room(self) -> None:
        high_water = max(self.service.settings.queue_size // 2, 1)
        deadline = time.monotonic() + 30.0
        while self.service.stats().queued > high_water and time.monotonic() < deadline:
            time.sleep(0.01)

    def event(self, version: str, session: str, t: int, event_type: str, **props: Any) -> None:
        attrs = {schema.ATTR_CATEGORY: "event", schema.ATTR_EVENT_TYPE: event_type, "session.id": session, **props}
        self.span(version, event_type, t, 0.0, attrs)
        self.summary.events += 1
        self.summary.by_event_type[event_type] = self.summary.by_event_type.get(event_type, 0) + 1

    def perf(self, version: str, session: str, t: int, metric: str, value: float, unit: str = "ms") -> None:
        attrs = {schema.ATTR_CATEGORY: "performance", schema.ATTR_METRIC_NAME: metric, "session.id": session,
                 schema.ATTR_METRIC_VALUE: round(value, 3), schema.ATTR_METRIC_UNIT: unit}  # fmt: skip
        self.span(version, metric, t, 0.0, attrs)
        self.summary.performance += 1

    def error(self, version: str, session: str, t: int, error_type: str, message: str, operation: str) -> None:
        attrs = {schema.ATTR_CATEGORY: "error", schema.ATTR_ERROR_TYPE: error_type, "operation": operation,
                 "session.id": session}  # fmt: skip
        self.span(version, error_type, t, 0.0, attrs, error=f"{error_type}: {message}")
        self.summary.errors += 1

    def http(self, version: str, session: str, t: int, method: str, route: str, typical_ms: float) -> None:
        attrs = {"http.request.method": method, "http.route": route, "http.response.status_code": 200,
                 "session.id": session}  # fmt: skip
        ms = self.rng.lognormvariate(math.log(typical_ms), 0.4)
        self.span(version, f"{method} {route}", t, ms, attrs, kind=SpanKind.SERVER)
        self.summary.http_requests += 1

    # -- the story ---------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None) -> None:
        first_midnight = self.start_ns // DAY_NS * DAY_NS
        for day in range(self.days + 1):
            midnight = first_midnight + day * DAY_NS  # of the install's local date, as UTC
            weekend = ((midnight // DAY_NS) + 3) % 7 >= 5  # 1970-01-01 was a Thursday
            for install in self.installs:
                for _ in range(poisson(self.rng, install.activity * (0.35 if weekend else 1.0))):
                    local_hour = min(23.5, max(7.0, self.rng.gauss(14.5, 2.8)))
                    t = midnight + int((local_hour - install.offset_h) * HOUR_NS) + self.rng.randrange(HOUR_NS // 2)
                    if self.start_ns <= t < self.end_ns - HOUR_NS:
                        self.session(install, t)
            if progress is not None:
                progress(self.summary.records)
        self.outage()

    def session(self, install: _Install, t: int) -> None:
        rng, version = self.rng, self.version_of(install, t)
        session = uuid.UUID(int=rng.getrandbits(128)).hex
        self.summary.app_sessions += 1
        second = 10**9

        def later(seconds: float) -> int:
            nonlocal t
            t += int(seconds * second)
            return t

        exposure = {schema.ATTR_EXPERIMENT_NAME: EXPERIMENT, schema.ATTR_EXPERIMENT_VARIANT: install.variant,
                    schema.ATTR_EXPERIMENT_VARIANTS: list(VARIANTS), schema.ATTR_EXPERIMENT_WEIGHTS: self.weights,
                    schema.ATTR_EXPERIMENT_UNIT: install.unit}  # fmt: skip
        self.event(version, session, t, schema.EXPOSURE_EVENT_TYPE, **exposure)
        self.event(version, session, later(0.2), "app_started", theme=rng.choice(("dark", "light")))
        self.perf(version, session, later(0.1), "app_startup_time", rng.lognormvariate(7.3, 0.3))
        if install.converted and not install.tutorial_done:
            install.tutorial_done = True
            self.event(version, session, later(rng.uniform(30, 300)), "tutorial_completed")
            self.perf(version, session, later(1), "time_to_first_training",
                      rng.gauss(_FIRST_RUN_MS[install.variant], 15_000))  # fmt: skip
        self.http(version, session, later(2), "GET", "/api/models", 35.0)
        slow = 1.4 if version >= self.releases[2][1] else 1.0
        self.span(version, SLOW_SPAN, later(1), rng.lognormvariate(math.log(1_200), 0.3) * slow,
                  {"session.id": session, "model_size": rng.choice(("2.7B", "7B", "13B"))})  # fmt: skip
        self.event(version, session, later(5), "model_loaded", model_name=rng.choice(("llama-2-7b", "mistral-7b")))
        self.event(version, session, later(20), "dataset_loaded", num_examples=rng.choice((2_000, 15_011)))
        self.event(version, session, later(10), "training_started", algorithm=rng.choice(("lora", "qlora")))
        self.summary.training_runs += 1
        for _ in range(rng.randint(2, 4)):
            self.perf(version, session, later(60), "training_step_time", rng.gauss(420, 35))
        if rng.random() < 0.06:
            self.error(version, session, later(30), "OutOfMemoryError", "CUDA out of memory", "training")
            return
        self.event(version, session, later(600), "training_finished")
        self.event(version, session, later(30), "adapter_exported", format="safetensors")
        if version == self.releases[-1][1]:
            days_left = (self.end_ns - t) / DAY_NS
            if rng.random() < 0.15 + 0.6 * max(0.0, 1 - days_left / 7):
                self.event(version, session, later(20), "adapter_merged")

    def outage(self) -> None:
        """The Hub is down for an hour: every install working then fails to download, several times."""
        for n in range(70):
            install = self.rng.choice(self.installs)
            t = self.burst_ns + self.rng.randrange(HOUR_NS)
            session = uuid.UUID(int=self.rng.getrandbits(128)).hex
            self.error(self.version_of(install, t), session, t, "ConnectionError",
                       "huggingface.co unreachable", "model_download")  # fmt: skip
            del n


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw of mean ``lam`` (Knuth's method: the small means of a simulated day)."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        p *= rng.random()
        k += 1
    return k


def run_history(
    service: TelemetryService,
    days: int = 28,
    progress: Callable[[int], None] | None = None,
    *,
    seed: int | None = None,
    installs: int = 300,
) -> DemoSummary:
    """Record ``days`` days of history from ``installs`` simulated installs through ``service``'s pipeline.

    Returns at once, recording nothing, while consent is off (the pipeline would drop it all anyway).
    """
    if days < 1 or installs < 1:
        raise ValueError("days and installs must be >= 1")
    summary = DemoSummary()
    if not service.is_enabled():
        return summary
    started = time.monotonic()
    history = _History(service, days, installs, random.Random(seed))
    history.run(progress)
    history.summary.elapsed_s = round(time.monotonic() - started, 3)
    return history.summary
