"""Host names: which tokens are hosts, and the few public hosts that may be kept.

A token is a host when it is two or more DNS labels and its last label is a top-level domain people use
(generic ones, the countries' ones that are not also common file extensions, and the private suffixes of
home and office networks: ``.local``, ``.lan``, ``.internal``, ``.home.arpa``, ``.corp``, ...). File names
(``config.json``, ``train.py``) and Python module paths (``torch.nn.functional``) are not hosts.

A host stays only when it is, or is under, a public host on :data:`PUBLIC_HOSTS` (the hub, code and package
sites ML users link to, and opentelemetry.io, where instrumentation schema URLs point); every other host
becomes ``<host>``: a company's or a home machine's name says who or where someone is.
"""

from __future__ import annotations

import re
from typing import Final

PUBLIC_HOSTS: Final = (
    "huggingface.co",
    "hf.co",
    "github.com",
    "githubusercontent.com",
    "gitlab.com",
    "pypi.org",
    "pythonhosted.org",
    "python.org",
    "pytorch.org",
    "wandb.ai",
    "mlflow.org",
    "nvidia.com",
    "readthedocs.io",
    "kaggle.com",
    "arxiv.org",
    "opentelemetry.io",
    "localhost",
)
_PUBLIC_SUFFIXES: Final = tuple("." + h for h in PUBLIC_HOSTS)

# Country codes that are also common file extensions (py, sh, md, rs, pl, so) or Python attribute names
# (id, name, info, int, is, it, no, in, at, me) are left out: ``user.id`` and ``log.info`` are not hosts.
_TLDS: Final = frozenset(
    [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "mil",
        "io",
        "ai",
        "co",
        "xyz",
        "biz",
        "mobi",
        "asia",
        "eu",
        "uk",
        "ca",
        "au",
        "de",
        "fr",
        "es",
        "pt",
        "nl",
        "be",
        "ch",
        "se",
        "dk",
        "fi",
        "ie",
        "ru",
        "ua",
        "kz",
        "cn",
        "jp",
        "kr",
        "tw",
        "hk",
        "sg",
        "th",
        "vn",
        "ph",
        "nz",
        "za",
        "br",
        "ar",
        "cl",
        "mx",
        "pe",
        "ve",
        "uy",
        "ec",
        "gr",
        "tr",
        "il",
        "ae",
        "sa",
        "eg",
        "ma",
        "ng",
        "ke",
        "pk",
        "bd",
        "lk",
        "np",
        "cz",
        "sk",
        "hu",
        "ro",
        "bg",
        "hr",
        "si",
        "rs",
        "ee",
        "lv",
        "lt",
        "lu",
        "li",
        "mt",
        "cy",
        "local",
        "lan",
        "internal",
        "intranet",
        "corp",
        "home",
        "arpa",
        "localdomain",
        "onion",
    ]
)
HOST: Final = re.compile(r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?P<tld>[^\W\d_]{2,24})\.?(?::\d{1,5})?")
HOST_MARKER: Final = "<host>"


def is_host(token: str) -> bool:
    """Whether a whole token is a host name (with an optional port)."""
    m = HOST.fullmatch(token)
    return m is not None and m.group("tld").lower() in _TLDS


def is_public_host(host: str) -> bool:
    """A host on, or under, the public allowlist (port ignored)."""
    name = host.lower().rstrip(".").split(":", 1)[0]
    return name in PUBLIC_HOSTS or name.endswith(_PUBLIC_SUFFIXES)
