"""The privacy policy: what the user (or the app) adds to the built-in rules.

The built-in rules are always on and cannot be switched off here: a policy can only take more away. A bad
policy (an invalid or empty-matching regex, an odd rule id) is a configuration error and raises
:class:`PolicyError` at construction, never later on the export thread.
"""

from __future__ import annotations

import re
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .normalize import fold_key

_RULE_ID: Final = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,63}")

#: Keys whose values are replaced by a keyed hash by default. Matching is on the normalized key (lowercase,
#: separators removed), so ``user_id``, ``userId`` and ``user-id`` are one entry.
DEFAULT_HASHED_KEYS: Final = (
    "user_id",
    "enduser.id",
    "account_id",
    "customer_id",
    "member_id",
    "device_id",
    "machine_id",
)


class PolicyError(ValueError):
    """The privacy policy is invalid (raised at construction, with the reason)."""


class PrivacyPolicy(BaseModel):
    """What to remove on top of the built-in rules.

    Example::

        PrivacyPolicy(extra_denied_keys=["project_code"], extra_patterns={"ticket": r"TICKET-\\d+"})

    Raises :class:`PolicyError` (a ``ValueError``) when a field is invalid.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    extra_denied_keys: tuple[str, ...] = Field(
        default=(),
        description="More field names to remove. Normalized substring match, like the built-in key rules: "
        "'project_code' also removes 'projectCode' and 'my-project-code-v2'.",
    )
    extra_patterns: dict[str, str] = Field(
        default_factory=dict,
        description="More value detectors: {rule_id: regex}. Every match is replaced by '<redacted:rule_id>' "
        "and counted under the rule id. The regex may not match the empty string.",
    )
    allowlist_keys: tuple[str, ...] | None = Field(
        default=None,
        description="Allowlist mode when set: only these top-level keys of span, event, link and metric point "
        "attributes are kept (normalized match; an entry ending in '*' matches a prefix, e.g. 'peft.*'). "
        "Values of kept keys are still scrubbed. Resource and scope attributes (set by code, not callers) "
        "and the exception.* event attributes (scrubbed by their own rules) are not subject to it.",
    )
    hashed_keys: tuple[str, ...] = Field(
        default=DEFAULT_HASHED_KEYS,
        description="Keys whose values become HMAC-SHA256 (16 hex characters) with the per-install secret.",
    )
    max_string_length: int = Field(
        default=4096,
        ge=64,
        le=1_000_000,
        description="Strings longer than this are cut after scrubbing (and marked '<truncated>').",
    )

    def __init__(self, **data: object) -> None:
        # Callers get one exception type for every bad policy, whatever pydantic finds.
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise PolicyError(f"invalid privacy policy: {exc}") from None

    @field_validator("extra_patterns")
    @classmethod
    def _check_patterns(cls, patterns: dict[str, str]) -> dict[str, str]:
        for rule_id, source in patterns.items():
            if not _RULE_ID.fullmatch(rule_id):
                raise ValueError(f"rule id {rule_id!r} must match {_RULE_ID.pattern}")
            try:
                compiled = re.compile(source)
            except re.error as exc:
                raise ValueError(f"pattern for rule {rule_id!r} is not a valid regex: {exc}") from None
            if compiled.search("") is not None:
                raise ValueError(f"pattern for rule {rule_id!r} matches the empty string")
        return patterns

    @field_validator("extra_denied_keys", "hashed_keys")
    @classmethod
    def _check_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            if not normalize_key(key):
                raise ValueError(f"key {key!r} has no letters or digits")
        return keys

    @model_validator(mode="after")
    def _check_allowlist(self) -> PrivacyPolicy:
        for key in self.allowlist_keys or ():
            if not normalize_key(key.rstrip("*")) and key != "*":
                raise ValueError(f"allowlist key {key!r} has no letters or digits")
        return self

    def compiled_patterns(self) -> list[tuple[str, re.Pattern[str]]]:
        """The extra patterns, compiled (validated at construction, so this cannot fail)."""
        return [(rule_id, re.compile(source)) for rule_id, source in self.extra_patterns.items()]


def normalize_key(key: str) -> str:
    """Folded, lowercase, separators removed: ``X-Api-Key`` -> ``xapikey``, ``Contraseña`` -> ``contrasena``.

    See :func:`.normalize.fold_key` (NFKC, confusables folded to Latin, diacritics removed)."""
    return fold_key(key)
