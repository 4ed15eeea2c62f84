"""Error categories for the dashboard's "errors by category": from the exception's type first, its text second.

The type is the reliable signal: ``requests.HTTPError`` is a network error whatever its message says (a
401 whose text mentions "Unauthorized for url: .../bloom-oom-test" is not a memory problem). So the
exception's MRO is walked, most specific class first, against :data:`TYPE_CATEGORIES` (qualified names,
plus a few class names recognised in any module, plus whole library namespaces such as ``requests``).
Generic classes (``RuntimeError``, ``OSError``, ``Exception``) say little: libraries raise them for
everything, e.g. torch's "CUDA error: device-side assert triggered" is a ``RuntimeError``. For those, and
for errors that arrive as text (the browser), word-bounded message patterns decide, and the generic
class's own default applies when none matches.

>>> categorize_type(MemoryError, "")
'out_of_memory'
>>> categorize("RuntimeError", "CUDA error: device-side assert triggered")
'cuda'
"""

from __future__ import annotations

import re
from typing import Final

OUT_OF_MEMORY: Final = "out_of_memory"
CUDA: Final = "cuda"
NETWORK: Final = "network"
FILESYSTEM: Final = "filesystem"
IMPORT: Final = "import"
VALIDATION: Final = "validation"
RUNTIME: Final = "runtime"

#: Every category an error can get.
CATEGORIES: Final = (OUT_OF_MEMORY, CUDA, NETWORK, FILESYSTEM, IMPORT, VALIDATION, RUNTIME)

#: Qualified class names (``module.QualName``; builtins by bare name) and their category.
TYPE_CATEGORIES: Final[dict[str, str]] = {
    # memory
    "MemoryError": OUT_OF_MEMORY,
    "torch.OutOfMemoryError": OUT_OF_MEMORY,
    "torch.cuda.OutOfMemoryError": OUT_OF_MEMORY,
    "duckdb.OutOfMemoryException": OUT_OF_MEMORY,
    # accelerators
    "torch.AcceleratorError": CUDA,
    "torch.cuda.CudaError": CUDA,
    "torch.distributed.DistBackendError": CUDA,
    "torch.distributed.DistError": CUDA,
    # network (checked before OSError: requests' and urllib's errors are OSError subclasses)
    "ConnectionError": NETWORK,
    "TimeoutError": NETWORK,
    "socket.gaierror": NETWORK,
    "socket.herror": NETWORK,
    "ssl.SSLError": NETWORK,
    "urllib.error.URLError": NETWORK,
    "http.client.HTTPException": NETWORK,
    "asyncio.exceptions.TimeoutError": NETWORK,
    "NetworkError": NETWORK,  # the browser's fetch failures arrive by this name
    # filesystem
    "FileNotFoundError": FILESYSTEM,
    "FileExistsError": FILESYSTEM,
    "PermissionError": FILESYSTEM,
    "IsADirectoryError": FILESYSTEM,
    "NotADirectoryError": FILESYSTEM,
    "safetensors_rust.SafetensorError": FILESYSTEM,
    # imports
    "ImportError": IMPORT,
    "ModuleNotFoundError": IMPORT,
    # bad input
    "ValueError": VALIDATION,
    "TypeError": VALIDATION,
    "LookupError": VALIDATION,
    "KeyError": VALIDATION,
    "IndexError": VALIDATION,
    "AttributeError": VALIDATION,
    "pydantic_core._pydantic_core.ValidationError": VALIDATION,
}

#: Class names recognised in any module (libraries re-export them under many paths).
NAME_CATEGORIES: Final[dict[str, str]] = {
    "OutOfMemoryError": OUT_OF_MEMORY,
    "OutOfMemoryException": OUT_OF_MEMORY,
    "CudaError": CUDA,
    "AcceleratorError": CUDA,
    "DistBackendError": CUDA,
}

#: Whole namespaces whose exceptions are about talking to another machine.
NETWORK_MODULES: Final = ("requests", "urllib3", "httpx", "httpcore", "aiohttp", "websockets", "grpc")

#: Generic classes: the message decides, else this default.
GENERIC_DEFAULTS: Final[dict[str, str]] = {
    "OSError": FILESYSTEM,
    "RuntimeError": RUNTIME,
    "Exception": RUNTIME,
    "BaseException": RUNTIME,
}

_PATTERNS: Final = tuple(
    (category, re.compile(pattern, re.IGNORECASE))
    for category, pattern in (
        (OUT_OF_MEMORY, r"out of memory|\boom\b|cannot allocate memory|std::bad_alloc|alloc_failed"),
        (CUDA, r"\bcuda\b|\bcudnn|\bcublas|\bnccl\b|device-side assert|\bgpu\b|\bmps backend"),
        (
            FILESYSTEM,
            r"no space left on device|disk quota exceeded|read-only file system|permission denied"
            r"|no such file or directory|is a directory|not a directory",
        ),
        (
            NETWORK,
            r"connection (?:refused|reset|aborted|error)|timed out|name or service not known"
            r"|temporary failure in name resolution|max retries exceeded|network is unreachable"
            r"|certificate verify failed|failed to fetch",
        ),
        (IMPORT, r"no module named|cannot import name"),
    )
)


def _qualified(module: str, qualname: str) -> str:
    return qualname if module in ("builtins", "__main__", "") else f"{module}.{qualname}"


def _by_name(module: str, qualname: str) -> str | None:
    name = _qualified(module, qualname)
    found = TYPE_CATEGORIES.get(name) or NAME_CATEGORIES.get(qualname.rsplit(".", 1)[-1])
    if found is None and module.split(".", 1)[0] in NETWORK_MODULES:
        found = NETWORK
    return found


def _by_message(message: str) -> str | None:
    text = message[:300]
    for category, pattern in _PATTERNS:
        if pattern.search(text):
            return category
    return None


def categorize_type(kind: type[BaseException], message: str) -> str:
    """The category of an exception of class ``kind`` with this message: MRO first, message second."""
    for cls in kind.__mro__:
        module, qualname = getattr(cls, "__module__", "") or "", cls.__qualname__
        generic = GENERIC_DEFAULTS.get(_qualified(module, qualname))
        if generic is not None:
            return _by_message(message) or generic
        found = _by_name(module, qualname)
        if found is not None:
            return found
    return _by_message(message) or RUNTIME


def categorize(error_type: str, message: str) -> str:
    """The category of an error known only by its type's name (``"requests.exceptions.HTTPError"``,
    ``"TypeError"`` from a browser) and message."""
    module, _, qualname = error_type.rpartition(".")
    generic = GENERIC_DEFAULTS.get(error_type)
    if generic is None:
        found = _by_name(module, qualname or error_type)
        if found is not None:
            return found
    return _by_message(message) or generic or RUNTIME
