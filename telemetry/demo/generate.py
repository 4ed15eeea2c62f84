"""A realistic PEFT Studio workload, recorded through the public API, so a newcomer sees a full dashboard.

Simulated app sessions: a user opens the app, changes a setting, loads a model (llama-2-7b, mistral-7b,
phi-2, ...) and a dataset, fine-tunes it with LoRA or QLoRA (plausible hyperparameters), tries inference,
exports the adapter and closes the app, with the API timings the frontend would cause. Some training runs
fail the way real ones do (CUDA out of memory, a missing dataset file, a 401 from the Hub, a LoRA target
that does not exist) and are reported with real exceptions whose frames point into home folders and
``site-packages`` and whose properties carry e-mail addresses and tokens: exactly what the anonymizer has
to remove. Run ``peft-telemetry demo`` and then ``peft-telemetry preview`` or ``query`` to see what stayed.

Every record goes through ``track_event_sync`` / ``track_error_sync`` / ``track_performance_sync``, or
through ``service.tracer`` for the HTTP server spans FastAPI's instrumentation would produce; nothing is
written to the event log behind the pipeline's back. Timestamps are the real time of the run.

>>> summary = run_demo(service, events=500, progress=None)
>>> summary.records
500
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import BaseModel

from telemetry.demo.failures import (
    DemoUser,
    hub_unauthorized,
    missing_dataset,
    token,
    training_failure,
    user_path,
)

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

Action = Callable[[], None]

#: How often (in records) the demo reports progress and looks at the pipeline's queue.
_CHECK_EVERY = 256


class DemoSummary(BaseModel):
    """What :func:`run_demo` recorded, by kind, and how long submitting took."""

    records: int = 0
    events: int = 0
    errors: int = 0
    performance: int = 0
    http_requests: int = 0
    app_sessions: int = 0
    training_runs: int = 0
    by_event_type: dict[str, int] = {}
    elapsed_s: float = 0.0


_USERS = (
    DemoUser("alice", "alice.nguyen@example.com", "/home/alice", "linux", "NVIDIA RTX 4090", 24),
    DemoUser("bob", "bob.smith@gmail.com", "/Users/bob", "darwin", "Apple M2 Max", 32),
    DemoUser("carol", "carol@research-lab.org", "/home/carol", "linux", "NVIDIA A100-SXM4-80GB", 80),
    DemoUser("dave", "dave.k@outlook.com", "C:\\Users\\dave", "windows", "NVIDIA RTX 3060", 12),
)

# name, parameters in billions, typical LoRA target modules
_MODELS = (
    ("meta-llama/Llama-2-7b-hf", 7.0, ("q_proj", "v_proj")),
    ("meta-llama/Llama-2-13b-hf", 13.0, ("q_proj", "k_proj", "v_proj", "o_proj")),
    ("mistralai/Mistral-7B-v0.1", 7.2, ("q_proj", "k_proj", "v_proj", "o_proj")),
    ("microsoft/phi-2", 2.7, ("q_proj", "k_proj", "v_proj", "dense")),
    ("google/gemma-2b", 2.5, ("q_proj", "v_proj")),
    ("tiiuae/falcon-7b", 7.0, ("query_key_value",)),
)
_DATASETS = (
    "tatsu-lab/alpaca",
    "databricks/databricks-dolly-15k",
    "OpenAssistant/oasst1",
    "support-chats (local)",
)


def run_demo(
    service: TelemetryService,
    events: int,
    progress: Callable[[int], None] | None = None,
    *,
    seed: int | None = None,
) -> DemoSummary:
    """Record ``events`` records of a simulated PEFT Studio workload through ``service``.

    Returns at once when consent is off (nothing would be recorded; the caller says so). Submitting never
    outruns the pipeline: when its queue is half full the demo waits, so nothing is dropped. ``progress``
    is called with the number of records submitted so far, every few hundred records and at the end.
    ``seed`` makes the workload repeatable.
    """
    if events < 0:
        raise ValueError("events must be >= 0")
    summary = DemoSummary()
    if not service.is_enabled() or events == 0:
        return summary
    started = time.monotonic()
    workload = _Workload(service, random.Random(seed), summary)
    actions = workload.actions()
    high_water = max(service.settings.queue_size // 2, 1)
    for done in range(1, events + 1):
        next(actions)()
        if done % _CHECK_EVERY == 0:
            deadline = time.monotonic() + 30.0
            while service.stats().queued > high_water and time.monotonic() < deadline:
                time.sleep(0.01)
            if progress is not None:
                progress(done)
    actions.close()
    summary.records = events
    summary.elapsed_s = round(time.monotonic() - started, 3)
    if progress is not None:
        progress(events)
    return summary


class _Workload:
    """An endless stream of actions, each recording exactly one record."""

    def __init__(self, service: TelemetryService, rng: random.Random, summary: DemoSummary) -> None:
        self.service = service
        self.rng = rng
        self.summary = summary

    # -- the four ways a record is made ------------------------------------------------------------------

    def event(self, event_type: str, session: str, properties: dict[str, Any], parent: Any = None) -> Action:
        def record() -> None:
            props = {**properties, "session.id": session}
            if parent is None:
                self.service.track_event_sync(event_type, props)
            else:
                with trace.use_span(parent, end_on_exit=False):
                    self.service.track_event_sync(event_type, props)
            self.summary.events += 1
            self.summary.by_event_type[event_type] = self.summary.by_event_type.get(event_type, 0) + 1

        return record

    def perf(self, metric: str, value: float, unit: str = "ms") -> Action:
        def record() -> None:
            self.service.track_performance_sync(metric, round(value, 3), unit)
            self.summary.performance += 1

        return record

    def error(self, raise_it: Callable[[], None], context: dict[str, Any]) -> Action:
        def record() -> None:
            try:
                raise_it()
            except Exception as exc:
                self.service.track_error_sync(exc, context)
            self.summary.errors += 1

        return record

    def http(self, session: str, method: str, route: str, typical_ms: float, status: int = 200) -> Action:
        def record() -> None:
            duration_ns = int(self.rng.lognormvariate(0, 0.45) * typical_ms * 1e6)
            end = time.time_ns()
            attributes: dict[str, str | int] = {"http.request.method": method, "http.route": route}
            attributes.update({"http.response.status_code": status, "session.id": session})
            span = self.service.tracer.start_span(
                f"{method} {route}", kind=SpanKind.SERVER, start_time=end - duration_ns, attributes=attributes
            )
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end(end_time=end)
            self.summary.http_requests += 1

        return record

    # -- the story -----------------------------------------------------------------------------------

    def actions(self) -> Generator[Action, None, None]:
        while True:
            yield from self.app_session()

    def app_session(self) -> Iterator[Action]:
        rng = self.rng
        user = rng.choice(_USERS)
        session = uuid.UUID(int=rng.getrandbits(128)).hex
        self.summary.app_sessions += 1
        yield self.event(
            "app_started",
            session,
            {
                "app_version": rng.choice(("0.9.2", "0.9.3", "1.0.0")),
                "os": user.os,
                "gpu": user.gpu,
                "gpu_memory_gb": user.gpu_memory_gb,
                "theme": rng.choice(("dark", "light", "system")),
                "user_email": user.email,  # PII: the anonymizer must remove it
                "workspace": user_path(user, "peft-studio", "workspace"),
            },
        )
        yield self.perf("app_startup_time", rng.lognormvariate(7.3, 0.3))
        yield self.http(session, "GET", "/api/telemetry/consent", 4.0)
        if rng.random() < 0.4:
            yield self.event(
                "settings_changed",
                session,
                {"setting": "huggingface_token", "hub_token": token(rng, "hf_", 34), "remember": True},
            )
        for _ in range(rng.randint(1, 3)):
            yield from self.fine_tune(user, session)
        yield self.event("app_closed", session, {"clean_exit": rng.random() > 0.05})

    def fine_tune(self, user: DemoUser, session: str) -> Iterator[Action]:
        rng = self.rng
        model, billions, targets = rng.choice(_MODELS)
        qlora = billions * 2 > user.gpu_memory_gb or rng.random() < 0.35
        yield self.http(session, "GET", "/api/models", 35.0)
        if rng.random() < 0.06:
            yield self.error(hub_unauthorized(user, model, rng), {"operation": "model_download", "model_name": model})
            return
        load_ms = billions * rng.uniform(900, 1600) * (0.6 if qlora else 1.0)
        yield self.event(
            "model_loaded",
            session,
            {
                "model_name": model,
                "model_size": f"{billions:g}B",
                "quantization": "4bit-nf4" if qlora else None,
                "source": "huggingface",
                "cache_dir": user_path(user, ".cache", "huggingface", "hub"),
                "load_time_ms": round(load_ms, 1),
            },
        )
        yield self.perf("model_load_time", load_ms)
        dataset = rng.choice(_DATASETS)
        yield self.http(session, "GET", "/api/datasets", 28.0)
        if dataset.endswith("(local)") and rng.random() < 0.3:
            yield self.error(missing_dataset(user), {"operation": "dataset_load", "format": "jsonl"})
            return
        examples = rng.choice((2_000, 5_000, 15_011, 52_002))
        yield self.event("dataset_loaded", session, {"dataset_name": dataset, "num_examples": examples})
        yield from self.training_run(user, session, model, targets, qlora, examples)

    def training_run(
        self, user: DemoUser, session: str, model: str, targets: tuple[str, ...], qlora: bool, examples: int
    ) -> Iterator[Action]:
        rng = self.rng
        self.summary.training_runs += 1
        rank = rng.choice((8, 16, 32, 64))
        batch = rng.choice((1, 2, 4, 8, 16))
        epochs = rng.choice((1, 2, 3))
        algorithm = "qlora" if qlora else "lora"
        config = {
            "algorithm": algorithm,
            "model_name": model,
            "lora": {
                "r": rank,
                "alpha": rank * 2,
                "dropout": rng.choice((0.05, 0.1)),
                "target_modules": list(targets),
            },
            "learning_rate": rng.choice((1e-4, 2e-4, 3e-4)),
            "batch_size": batch,
            "gradient_accumulation_steps": rng.choice((1, 4, 8)),
            "epochs": epochs,
            "max_seq_length": rng.choice((512, 1024, 2048)),
            "optimizer": "paged_adamw_8bit" if qlora else "adamw_torch",
            "precision": rng.choice(("bf16", "fp16")),
            "output_dir": user_path(user, "peft-studio", "runs", f"{model.split('/')[-1]}-r{rank}"),
        }
        # Runs take minutes to hours; the run's span is dated back by its simulated length.
        minutes = examples * epochs / (batch * rng.uniform(3, 9)) / 60
        run_span = self.service.tracer.start_span(
            "training_run",
            attributes={"algorithm": algorithm, "model_name": model, "session.id": session},
            start_time=time.time_ns() - int(minutes * 60e9),
        )
        yield self.http(session, "POST", "/api/training/start", 180.0)
        yield self.event("training_started", session, config, run_span)
        # The second run of the demo always runs out of memory: a newcomer should see an error at once.
        outcome = (
            "oom" if self.summary.training_runs == 2 else rng.choices(("ok", "oom", "nan", "target"), (80, 12, 4, 4))[0]
        )
        step_ms = rng.uniform(180, 900) * batch / (2.0 if qlora else 1.0)
        for epoch in range(1, epochs + 1):
            for _ in range(rng.randint(2, 5)):
                yield self.perf("training_step_time", rng.gauss(step_ms, step_ms * 0.08))
                yield self.http(session, "GET", "/api/training/{run_id}/status", 12.0)
            if outcome != "ok" and epoch == 1:
                break
            loss = 2.1 * (0.72**epoch) + rng.uniform(-0.05, 0.05)
            yield self.event("epoch_completed", session, {"epoch": epoch, "train_loss": round(loss, 4)}, run_span)
        if outcome != "ok":
            yield self.error(
                training_failure(outcome, user, batch, rng), {"operation": "training", "model_name": model}
            )
            run_span.set_status(Status(StatusCode.ERROR))
            run_span.end()
            return
        yield self.event(
            "training_finished",
            session,
            {
                "algorithm": algorithm,
                "model_name": model,
                "duration_s": round(minutes * 60, 1),
                "final_loss": round(2.1 * (0.72**epochs), 4),
                "eval_loss": round(2.25 * (0.74**epochs), 4),
                "tokens_per_second": round(rng.uniform(900, 4200) / (1.6 if qlora else 1.0), 1),
                "peak_gpu_memory_gb": round(rng.uniform(0.55, 0.95) * user.gpu_memory_gb, 2),
            },
            run_span,
        )
        run_span.end()
        yield self.perf("tokens_per_second", rng.uniform(900, 4200), "tokens/s")
        yield self.http(session, "POST", "/api/inference", 420.0, 500 if rng.random() < 0.03 else 200)
        yield self.perf("inference_latency", rng.lognormvariate(5.9, 0.35))
        yield self.event(
            "adapter_exported",
            session,
            {
                "format": "safetensors",
                "size_mb": round(rank * 1.6, 1),
                "path": f"{config['output_dir']}/adapter",
            },
        )
