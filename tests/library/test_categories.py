"""Error categories come from the exception's type and MRO first, its message second.

torch is not a test dependency (its PyPI wheels pull in gigabytes of CUDA libraries), so the table uses
stand-ins defined exactly as torch defines its classes (same module, name and base class, e.g.
``torch.OutOfMemoryError(RuntimeError)``); when torch is installed, the real classes are checked too.
"""

import errno
import socket
import ssl
import urllib.error
from pathlib import Path

import pytest

from telemetry.categories import CATEGORIES, categorize, categorize_type
from telemetry.testing import recording_service, stored_events


def _stand_in(module: str, name: str, base: type[BaseException]) -> type[BaseException]:
    cls = type(name, (base,), {})
    cls.__module__ = module
    cls.__qualname__ = name
    return cls


TorchOOM = _stand_in("torch", "OutOfMemoryError", RuntimeError)
TorchAccelerator = _stand_in("torch", "AcceleratorError", RuntimeError)
DistError = _stand_in("torch.distributed", "DistError", RuntimeError)
DistBackendError = _stand_in("torch.distributed", "DistBackendError", DistError)
SafetensorError = _stand_in("safetensors_rust", "SafetensorError", Exception)


def _requests_http_error(status: int) -> BaseException:
    requests = pytest.importorskip("requests")
    response = requests.Response()
    response.status_code = status
    response.url = "https://huggingface.co/api/models/bloom-oom-test"
    response.reason = "Unauthorized"
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        return exc
    raise AssertionError("raise_for_status did not raise")


CASES: list[tuple[str, BaseException, str]] = [
    # torch-shaped classes
    ("torch OOM", TorchOOM("CUDA out of memory. Tried to allocate 2.00 GiB"), "out_of_memory"),
    ("torch OOM, no message", TorchOOM(""), "out_of_memory"),
    ("torch accelerator", TorchAccelerator("CUDA error: an illegal memory access"), "cuda"),
    ("NCCL backend", DistBackendError("NCCL error in: ProcessGroupNCCL.cpp"), "cuda"),
    # messages torch and CUDA raise as plain RuntimeError
    ("old torch OOM", RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"), "out_of_memory"),
    ("device assert", RuntimeError("CUDA error: device-side assert triggered"), "cuda"),
    ("cudnn", RuntimeError("cuDNN error: CUDNN_STATUS_NOT_INITIALIZED"), "cuda"),
    ("cublas alloc", RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate"), "out_of_memory"),
    ("mps", RuntimeError("MPS backend out of memory (MPS allocated: 1.2 GB)"), "out_of_memory"),
    ("plain runtime", RuntimeError("the trainer was stopped"), "runtime"),
    ("a model named bloom", RuntimeError("bloom-560m failed to converge"), "runtime"),
    # transformers / hub style: OSError with a message
    ("hub offline", OSError("We couldn't connect to 'https://huggingface.co' ... Max retries exceeded"), "network"),
    ("missing weights", OSError("Error no file named pytorch_model.bin found in directory /models/x"), "filesystem"),
    ("safetensors", SafetensorError("Error while deserializing header: HeaderTooLarge"), "filesystem"),
    # OSError subclasses
    ("not found", FileNotFoundError(errno.ENOENT, "No such file or directory"), "filesystem"),
    ("permission", PermissionError(errno.EACCES, "Permission denied"), "filesystem"),
    ("disk full", OSError(errno.ENOSPC, "No space left on device"), "filesystem"),
    ("refused", ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "network"),
    ("timeout", TimeoutError("timed out"), "network"),
    ("dns", socket.gaierror(-2, "Name or service not known"), "network"),
    ("tls", ssl.SSLError(1, "certificate verify failed"), "network"),
    ("urllib", urllib.error.URLError("unreachable"), "network"),
    ("memory", MemoryError(), "out_of_memory"),
    # everyday Python
    ("import", ModuleNotFoundError("No module named 'peft'"), "import"),
    ("value", ValueError("r must be positive"), "validation"),
    ("key", KeyError("lora_alpha"), "validation"),
    ("type", TypeError("unsupported operand"), "validation"),
    ("value about memory", ValueError("max_memory must be a dict"), "validation"),
]


@pytest.mark.parametrize(("exc", "expected"), [(exc, cat) for _, exc, cat in CASES], ids=[c[0] for c in CASES])
def test_category_table(exc: BaseException, expected: str) -> None:
    assert categorize_type(type(exc), str(exc)) == expected
    assert expected in CATEGORIES


def test_a_requests_401_is_a_network_error_not_out_of_memory() -> None:
    exc = _requests_http_error(401)
    assert isinstance(exc, OSError)  # requests' errors are OSErrors: the MRO walk must see HTTPError first
    assert categorize_type(type(exc), str(exc)) == "network"
    assert categorize("requests.exceptions.HTTPError", str(exc)) == "network"


def test_text_only_errors_use_the_name_then_the_message() -> None:
    assert categorize("TypeError", "Failed to fetch") == "validation"
    assert categorize("NetworkError", "") == "network"
    assert categorize("Error", "Failed to fetch") == "network"
    assert categorize("RuntimeError", "CUDA error: device-side assert triggered") == "cuda"
    assert categorize("torch.OutOfMemoryError", "") == "out_of_memory"
    assert categorize("Whatever", "") == "runtime"


def test_real_torch_classes() -> None:
    torch = pytest.importorskip("torch")
    import torch.distributed as dist

    assert categorize_type(torch.OutOfMemoryError, "") == "out_of_memory"
    assert categorize_type(torch.cuda.OutOfMemoryError, "") == "out_of_memory"
    assert categorize_type(torch.AcceleratorError, "") == "cuda"
    assert categorize_type(dist.DistBackendError, "") == "cuda"


def test_the_stored_category_follows_the_type(tmp_path: Path) -> None:
    with recording_service(tmp_path) as service:
        service.track_error_sync(_requests_http_error(401))
        service.track_error_sync(TorchOOM("Tried to allocate 2.00 GiB"))
        service.track_reported_error_sync("TypeError", "x is undefined")
        rows = stored_events(service, category="error")
    assert [r["attributes"]["peft.error.category"] for r in rows] == ["network", "out_of_memory", "validation"]
