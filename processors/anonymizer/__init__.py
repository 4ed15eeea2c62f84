"""The privacy engine: nothing personal survives, and what remains is still useful.

Public names::

    from processors.anonymizer import Anonymizer, PrivacyPolicy, PolicyError, RuleInfo

One :class:`Anonymizer` scrubs every string that can be stored (span names, attributes, events with
exception messages and stack traces, status, links, resource, scope, metric attributes); its ``rules()``
list is what the consent screen shows. Decisions, each documented where it is made:

* A field whose key a key rule denies is removed with its whole value (keys.py); in text and URLs the value
  becomes ``<redacted>``. ``name`` means a person unless a thing owns it (``model_name`` is kept);
  ``token`` means a credential unless it counts text (``max_tokens`` is kept).
* User ids and other chosen keys become HMAC-SHA256 with the per-install secret, 16 hex characters.
* Values: e-mails, IPs (any dotted quad but loopback; versions under version keys), MACs, cards (Luhn and
  issuer), phones, JWTs, Bearer/Basic, provider tokens, PEM keys, URL userinfo and query secrets, and long
  random strings; hex digests (git, sha256) and UUIDs are kept (validators.py, rules.py).
* Paths keep their file name, package-relative inside site-packages; the home folder becomes ``~`` in every
  spelling; other users' homes become ``<home>`` (paths.py). Routes such as /api/... are not paths.
* Markers never echo what they replace. Each span carries ``{rule_id: count}`` under ``redactions_key``.
* Attributes stay valid OpenTelemetry values: nested mappings are flattened to dotted keys, mixed lists
  become JSON text, NaN and infinities become strings (structures.py).
"""

from .declared import EventDeclarations, PropertySpec
from .engine import HASH_HEX_CHARS, Anonymizer
from .policy import DEFAULT_HASHED_KEYS, PolicyError, PrivacyPolicy
from .rules import KEY_MARKER, RuleInfo, builtin_rules

__all__ = [
    "DEFAULT_HASHED_KEYS",
    "HASH_HEX_CHARS",
    "KEY_MARKER",
    "Anonymizer",
    "EventDeclarations",
    "PolicyError",
    "PrivacyPolicy",
    "PropertySpec",
    "RuleInfo",
    "builtin_rules",
]
