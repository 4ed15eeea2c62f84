"""The privacy engine's face: one object that scrubs values, text, errors and whole spans.

Everything stored passes through one :class:`Anonymizer`, so one set of rules (see :meth:`Anonymizer.rules`)
describes everything that is removed. The engine is built once (regexes compiled, policy validated) and
is then safe to call from several threads; its caches only ever hold what a string became.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets as _secrets
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan

from . import rules
from .declared import EventDeclarations
from .detectors import Counts, Scanner
from .freetext import FreeTextPolicy
from .keys import KeyClassifier
from .paths import parse_home
from .policy import PolicyError, PrivacyPolicy
from .spandata import ScrubbedResource, ScrubbedScope, ScrubbedSpanData, SpanData
from .spans import SpanScrubber
from .stacktrace import first_line, scrub_stacktrace
from .structures import DROP, AttrValue, Walker

#: Hash length in hex characters (64 bits): enough to tell users apart, short enough to read.
HASH_HEX_CHARS = 16
_MIN_SECRET_BYTES = 16


class Anonymizer:
    """Scrubs everything that can be stored.

    Example::

        anon = Anonymizer(PrivacyPolicy(), secret=lambda: install_secret)
        clean, redactions = anon.scrub_value({"email": "a@b.c", "model_name": "llama-2-7b"})
        # clean == {"model_name": "llama-2-7b"}; redactions == Counter({"key.email": 1})

    ``secret`` is called whenever an identifier is hashed, so rotating the per-install secret (as
    ``delete_all`` does) takes effect at once; it must return at least 16 bytes. Without it, a random secret
    for this object's lifetime is used (hashes are then stable only within the process).
    ``home_dir`` defaults to the current user's home. ``redactions_key`` is the span attribute that carries
    ``{rule_id: count}``; it must equal ``exporters.eventlog.schema.ATTR_REDACTIONS`` (a test checks this; the
    processors package does not import exporters).
    """

    def __init__(
        self,
        policy: PrivacyPolicy | None = None,
        secret: Callable[[], bytes] | None = None,
        home_dir: str | os.PathLike[str] | None = None,
        redactions_key: str = "peft.redactions",
        catalog: EventDeclarations | None = None,
    ) -> None:
        if policy is None:
            policy = PrivacyPolicy()
        if not isinstance(policy, PrivacyPolicy):
            raise PolicyError(f"policy must be a PrivacyPolicy, not {type(policy).__name__}")
        if secret is not None and not callable(secret):
            raise PolicyError("secret must be a callable returning bytes (it is re-read after rotation)")
        if not isinstance(redactions_key, str) or not redactions_key:
            raise PolicyError("redactions_key must be a non-empty string")
        if catalog is not None and not isinstance(catalog, EventDeclarations):
            raise PolicyError(f"catalog must be an EventDeclarations, not {type(catalog).__name__}")
        if secret is None:
            fallback = _secrets.token_bytes(32)
            secret = lambda: fallback  # noqa: E731
        self.policy = policy
        self._secret = secret
        self._keys = KeyClassifier(policy)
        self._scanner = Scanner(policy, self._keys, parse_home(home_dir), self.hash_identifier)
        self._walker = Walker(self._scanner, self._keys, FreeTextPolicy())
        self._walker.strict = catalog is not None and catalog.strict
        known = frozenset(r.id for r in rules.builtin_rules()) | frozenset(policy.extra_patterns)
        self._spans = SpanScrubber(self._scanner, self._walker, redactions_key, known, catalog)
        self.catalog = catalog
        self.redactions_key = redactions_key

    # --- identifiers -------------------------------------------------------------------------------------
    def hash_identifier(self, value: str) -> str:
        """HMAC-SHA256 of an identifier with the per-install secret, as 16 hex characters."""
        key = self._secret()
        if not isinstance(key, (bytes, bytearray)) or len(key) < _MIN_SECRET_BYTES:
            # Runtime, not configuration: the caller fails closed (the span is dropped and counted).
            raise ValueError("the anonymizer secret must be at least 16 bytes")
        return hmac.new(bytes(key), value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:HASH_HEX_CHARS]

    # --- values ------------------------------------------------------------------------------------------
    def scrub_value(self, value: Any, key: str | None = None) -> tuple[Any, Counter[str]]:
        """Any JSON-like value, shape kept. If ``key`` is denied the result is None (the field is removed)."""
        counts: Counts = {}
        cleaned = self._walker.value(value, counts, key)
        return (None if cleaned is DROP else cleaned), Counter(counts)

    def scrub_attributes(self, attrs: Mapping[str, Any]) -> tuple[dict[str, AttrValue], Counter[str]]:
        """An attribute map with valid OTel values: nested mappings flattened to dotted keys."""
        counts: Counts = {}
        return self._walker.attributes(attrs, counts), Counter(counts)

    def scrub_text(self, text: str) -> tuple[str, Counter[str]]:
        """Free text (a message, a name): the detectors, then the free-text policy."""
        counts: Counts = {}
        return self._walker.text(text, counts), Counter(counts)

    def scrub_error_message(self, message: str) -> tuple[str, Counter[str]]:
        """First line only, then scrubbed."""
        counts: Counts = {}
        return self._walker.text(first_line(message, counts), counts), Counter(counts)

    def scrub_stacktrace(self, trace: str) -> tuple[str, Counter[str]]:
        """Exception types, file names, line numbers and function names survive; the rest does not."""
        counts: Counts = {}
        return scrub_stacktrace(self._scanner, trace, counts, self._walker.text), Counter(counts)

    # --- spans -------------------------------------------------------------------------------------------
    def scrub_span(self, span: ReadableSpan) -> ReadableSpan:
        """A new span with every stored string scrubbed and ``redactions_key`` set when anything was removed.

        Raises on internal errors: callers (the processor and exporter wrappers) drop the span then.
        """
        return self._spans.scrub(span)

    def scrub_span_data(
        self, data: SpanData, resource: ScrubbedResource | None = None, scope: ScrubbedScope | None = None
    ) -> ScrubbedSpanData:
        """:meth:`scrub_span` on plain data (one implementation): for callers that never build SDK spans.

        ``resource`` and ``scope`` are what :meth:`scrub_resource_data` and :meth:`scrub_scope_data` returned
        for the span's resource and scope: their rule counts go into the span's redactions, as
        :meth:`scrub_span` counts them. Raises on internal errors: the caller drops the span then.

        Example::

            res = anon.scrub_resource_data({"service.name": "app"}, None)
            clean = anon.scrub_span_data(SpanData("train", {"email": "a@b.c", "lora_r": 16}), res)
            clean.attributes  # {"lora_r": 16, "peft.redactions": '{"key.email":1}'}
        """
        counts: Counts = {}
        for owner in (resource, scope):
            if owner is not None:
                for rule, n in owner.counts:
                    counts[rule] = counts.get(rule, 0) + n
        return self._spans.scrub_data(data, counts)

    def scrub_resource_data(self, attributes: Mapping[str, Any] | None, schema_url: str | None) -> ScrubbedResource:
        """A resource's attributes and schema URL, scrubbed as :meth:`scrub_span` scrubs a span's resource
        (not cached: callers that see the same resource again keep the result)."""
        return self._spans.resource_data(attributes, schema_url)

    def scrub_scope_data(
        self, name: str, version: str | None, schema_url: str | None, attributes: Mapping[str, Any] | None
    ) -> ScrubbedScope:
        """An instrumentation scope, scrubbed as :meth:`scrub_span` scrubs a span's scope (not cached)."""
        return self._spans.scope_data(name, version, schema_url, attributes)

    def scrub_resource(self, resource: Resource) -> tuple[Resource, Counter[str]]:
        """A resource with scrubbed attributes (cached per resource object)."""
        counts: Counts = {}
        return self._spans.resource(resource, counts), Counter(counts)

    def scrub_scope(self, scope: Any) -> Any:
        """An instrumentation scope with scrubbed name, version and attributes (cached per scope object)."""
        counts: Counts = {}
        return self._spans.scope(scope, counts)

    def scrub_metric_text(self, text: str) -> str:
        """A metric's name, unit or description (code usually, but apps and OTLP senders choose them)."""
        counts: Counts = {}
        return self._walker.text(text, counts)

    # --- preview and description -------------------------------------------------------------------------
    def preview(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """What would be stored for an event such as ``{"event_type": ..., "properties": {...}}``.

        Mappings (properties, context) come back as they are stored: flattened attribute maps. Other fields
        are scrubbed as values. ``redactions`` lists the rules that fired, with counts.
        """
        counts: Counts = {}
        out: dict[str, Any] = {}
        declared = self.catalog.for_event(event.get("event_type")) if self.catalog is not None else None
        for field, value in event.items():
            name = str(field)
            if isinstance(value, Mapping):
                if declared is not None and name == "properties":
                    out[name] = self._walker.attributes(_flatten(value), counts, declared=declared)
                else:
                    out[name] = self._walker.attributes(value, counts)
            else:
                cleaned = self._walker.value(value, counts, None)
                out[name] = None if cleaned is DROP else cleaned
        out["redactions"] = dict(sorted(counts.items()))
        return out

    def rules(self) -> list[RuleInfo]:
        """Every rule this engine applies: the source of the consent screen's "what we never collect"."""
        out = rules.builtin_rules()
        hashed = ", ".join(self.policy.hashed_keys)
        out = [
            r.model_copy(update={"description": f"{r.description} Hashed keys: {hashed}."})
            if r.id == rules.ID_HASHED
            else r
            for r in out
        ]
        if self.policy.extra_denied_keys:
            out = [
                r.model_copy(update={"description": f"{r.description} ({', '.join(self.policy.extra_denied_keys)})"})
                if r.id == rules.KEY_CUSTOM
                else r
                for r in out
            ]
        out += [
            rules.RuleInfo(
                id=rule_id,
                kind="value",
                marker=rules.marker_for(rule_id),
                description="A pattern from your privacy policy.",
                builtin=False,
            )
            for rule_id in self.policy.extra_patterns
        ]
        return out

    def clear_caches(self) -> None:
        """Forget cached results (call after delete_all: the caches hold what recent strings became)."""
        self._walker.clear_caches()
        self._spans.clear_caches()
        self._scanner.clear_caches()


RuleInfo = rules.RuleInfo


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested properties as dotted keys, the way ``track_event`` stores them (catalog keys are dotted)."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
