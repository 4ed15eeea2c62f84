"""The privacy engine: nothing personal survives, and what remains is still useful.

Public names::

    from processors.anonymizer import Anonymizer, PrivacyPolicy, PolicyError, RuleInfo
    from processors.anonymizer import EventDeclarations, PropertySpec
    from processors.anonymizer import SpanData, ScrubbedSpanData, ScrubbedResource, ScrubbedScope

One :class:`Anonymizer` scrubs every string that can be stored (span, event and link names and attributes,
status, resource and scope, metric names, units, descriptions and attributes, exception messages and
stack traces); its ``rules()`` list is what the consent screen shows. The order, each step in its module:

1. normalize (:mod:`.normalize`): NFKC, invisible characters, repeated percent-decoding, HTML entities,
   ``[at]``/``[dot]``, base64 tokens; keys folded (confusables, diacritics) for matching;
2. key rules (:mod:`.keys`, :mod:`.keywords`): a denied key removes its value; ids are HMAC-hashed;
3. detectors on every decoded form (:mod:`.detectors`, :mod:`.handlers`, :mod:`.patterns`,
   :mod:`.paths`, :mod:`.urls`, :mod:`.postpass`, :mod:`.validators`);
4. classification and the free-text policy (:mod:`.freetext`, :mod:`.vocabulary`, :mod:`.hosts`), unless
   the event catalog declares the property (:mod:`.declared`);
5. the length limit, after scrubbing.

Markers never echo what they replace; each span carries ``{rule_id: count}`` under ``redactions_key``.
Attributes stay valid OpenTelemetry values (:mod:`.structures`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processors._lazy import lazy_exports

if TYPE_CHECKING:
    from .declared import EventDeclarations, PropertySpec
    from .engine import HASH_HEX_CHARS, Anonymizer
    from .policy import DEFAULT_HASHED_KEYS, PolicyError, PrivacyPolicy
    from .rules import KEY_MARKER, RuleInfo, builtin_rules
    from .spandata import ScrubbedResource, ScrubbedScope, ScrubbedSpanData, SpanData

# Imported on first use, not with the package (see exporters/_lazy.py for why).
_EXPORTS = {
    "EventDeclarations": "declared",
    "PropertySpec": "declared",
    "HASH_HEX_CHARS": "engine",
    "Anonymizer": "engine",
    "DEFAULT_HASHED_KEYS": "policy",
    "PolicyError": "policy",
    "PrivacyPolicy": "policy",
    "KEY_MARKER": "rules",
    "RuleInfo": "rules",
    "builtin_rules": "rules",
    "ScrubbedResource": "spandata",
    "ScrubbedScope": "spandata",
    "ScrubbedSpanData": "spandata",
    "SpanData": "spandata",
}
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
    "ScrubbedResource",
    "ScrubbedScope",
    "ScrubbedSpanData",
    "SpanData",
    "builtin_rules",
]
if not TYPE_CHECKING:  # checkers read the imports above (and flag a name not exported)
    __getattr__ = lazy_exports(__name__, _EXPORTS)
