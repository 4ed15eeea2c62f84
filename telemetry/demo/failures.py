"""The demo's failures: real exceptions raised from frames in other people's files.

A training script crashing inside torch produces a traceback whose frames point into the user's home folder
and into ``site-packages``; that is what the anonymizer must reduce to file names. These helpers raise real
exceptions from nested functions whose code objects carry such file names (``compile`` with a chosen file
name, then ``exec``), so ``track_error`` sees exactly what it would see in PEFT Studio.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoUser:
    """A simulated PEFT Studio user: where their files live and what GPU they have."""

    name: str
    email: str
    home: str
    os: str
    gpu: str
    gpu_memory_gb: int


def token(rng: random.Random, prefix: str, length: int) -> str:
    """A made-up credential shaped like a real one (``hf_...``), for the anonymizer to catch."""
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(length))


_FAKE_CHAINS: dict[tuple[tuple[str, str, int], ...], Callable[[BaseException], None]] = {}


def _thrower(frames: tuple[tuple[str, str, int], ...]) -> Callable[[BaseException], None]:
    """A function that raises what it is given from nested calls whose code objects carry ``frames``'
    file names (outermost first): a traceback as a user's training script into torch would produce."""
    cached = _FAKE_CHAINS.get(frames)
    if cached is not None:
        return cached
    *outer, (inner_file, inner_func, inner_line) = frames
    namespace: dict[str, Any] = {}
    # Blank lines put each ``raise`` / call on the line number a real file would show.
    source = "\n" * (inner_line - 2) + f"def {inner_func}(exc):\n    raise exc\n"
    exec(compile(source, inner_file, "exec"), namespace)
    callee = namespace[inner_func]
    for file, func, line in reversed(outer):
        namespace = {"_callee": callee}
        source = "\n" * (line - 2) + f"def {func}(exc):\n    _callee(exc)\n"
        exec(compile(source, file, "exec"), namespace)
        callee = namespace[func]
    _FAKE_CHAINS[frames] = callee
    return callee


def _exception_type(module: str, name: str, base: type[Exception]) -> type[Exception]:
    kind = type(name, (base,), {})
    kind.__module__ = module
    kind.__qualname__ = name
    return kind


_OutOfMemoryError = _exception_type("torch.cuda", "OutOfMemoryError", RuntimeError)
_HTTPError = _exception_type("requests.exceptions", "HTTPError", OSError)


def user_path(user: DemoUser, *parts: str) -> str:
    """A path under the user's home folder, spelt the way their OS spells it."""
    return ("\\" if user.os == "windows" else "/").join((user.home, *parts))


def _lib(user: DemoUser, *parts: str) -> str:
    """A file of an installed package, in the user's virtual environment."""
    if user.os == "windows":
        return user_path(user, "miniconda3", "envs", "peft", "Lib", "site-packages", *parts)
    return user_path(user, ".venv", "lib", "python3.11", "site-packages", *parts)


def training_failure(outcome: str, user: DemoUser, batch: int, rng: random.Random) -> Callable[[], None]:
    script = user_path(user, "projects", "peft-experiments", "train.py")
    trainer = _lib(user, "transformers", "trainer.py")
    frames = [(script, "main", 142), (script, "run_training", 97), (trainer, "train", 1859)]
    frames.append((trainer, "training_step", 3238))
    exc: Exception
    if outcome == "oom":
        frames.append((_lib(user, "torch", "nn", "modules", "module.py"), "_call_impl", 1527))
        frames.append((_lib(user, "peft", "tuners", "lora", "layer.py"), "forward", 497))
        wanted = rng.choice((1.95, 2.0, 3.91, 7.81)) * (batch / 4 + 0.5)
        exc = _OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {wanted:.2f} GiB. GPU 0 has a total capacity of "
            f"{user.gpu_memory_gb - 0.35:.2f} GiB of which 412.00 MiB is free. Process 48213 has "
            f"{user.gpu_memory_gb - 0.8:.2f} GiB memory in use.\nSee documentation for Memory Management"
        )
    elif outcome == "nan":
        frames.append((trainer, "_maybe_log_save_evaluate", 2264))
        exc = RuntimeError("Loss is NaN at step 1337: lower the learning rate or enable gradient clipping")
    else:
        frames.append((_lib(user, "peft", "tuners", "tuners_utils.py"), "inject_adapter", 372))
        exc = ValueError(
            "Target modules {'q_proj', 'v_projj'} not found in the base model. "
            "Please check the target modules and try again."
        )
    raise_it = _thrower(tuple(frames))
    return lambda: raise_it(exc)


def missing_dataset(user: DemoUser) -> Callable[[], None]:
    path = user_path(user, "datasets", "support-chats", "train.jsonl")
    raise_it = _thrower(
        (
            (user_path(user, "projects", "peft-experiments", "data.py"), "load_local_dataset", 31),
            (_lib(user, "datasets", "load.py"), "load_dataset", 2556),
        )
    )
    return lambda: raise_it(FileNotFoundError(2, "No such file or directory", path))


def hub_unauthorized(user: DemoUser, model: str, rng: random.Random) -> Callable[[], None]:
    url = f"https://huggingface.co/api/models/{model}/revision/main?token={token(rng, 'hf_', 34)}"
    raise_it = _thrower(
        (
            (_lib(user, "huggingface_hub", "utils", "_errors.py"), "hf_raise_for_status", 304),
            (_lib(user, "requests", "models.py"), "raise_for_status", 1021),
        )
    )
    message = f"401 Client Error: Unauthorized for url: {url} (user {user.email})"
    return lambda: raise_it(_HTTPError(message))
