"""A/B experiments: ``telemetry.experiment(name, variants, weights=None)`` picks this install's variant.

>>> variant = telemetry.experiment("onboarding_checklist", ["control", "checklist"])
>>> if variant == "checklist":
...     show_checklist()

The variant comes from a keyed hash: HMAC-SHA256 of the experiment name under the install's secret (the
same random per-install key that derives the anonymous id), its first 8 bytes read as a number in
[0, 1) and mapped onto the cumulative weights. So it is

* stable across restarts (the secret is kept in the data home),
* uniform across installs (HMAC output is indistinguishable from random without the key),
* independent across experiments (different messages under the same key),
* drawn afresh after ``delete_all()`` (the secret rotates, the install becomes a new, unlinkable unit).

The first call in a session records one ``experiment_exposure`` event (experiment, variant, every variant
with its weight, and the unit: the install's anonymous id, already in the consent ledger); later calls in
the session record nothing and cost a few dictionary lookups, about what ``track_event`` costs.

Consent off (never given, withdrawn, DO_NOT_TRACK): the first variant, the control, is returned, nothing
is recorded, no secret or file is created, and no HMAC is computed. Users who did not opt in see the
default experience, which is also what an experiment's control group sees.

Wrong configuration (no name, fewer than two variants, duplicates, weights that do not fit) raises
:class:`ExperimentConfigError` whatever the consent, so it shows up in development. Runtime faults never
raise into the app: they are counted and the control is returned.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telemetry.service import TelemetryService

MAX_NAME_CHARS = 100
MAX_VARIANTS = 20
_HASH_DOMAIN = b"peft-studio.experiment\x1f"  # separates these HMACs from every other use of the secret
_MAX_DESIGNS = 1_000
_MAX_EXPOSURES = 10_000


class ExperimentConfigError(ValueError):
    """An experiment was declared wrongly (name, variants or weights)."""


@dataclass(frozen=True)
class Design:
    """A validated experiment: its name, variants (the first is the control) and normalized weights."""

    name: str
    variants: tuple[str, ...]
    weights: tuple[float, ...]
    cumulative: tuple[float, ...]

    def pick(self, u: float) -> str:
        """The variant whose cumulative-weight interval holds ``u`` in [0, 1)."""
        for variant, edge in zip(self.variants, self.cumulative, strict=True):
            if u < edge:
                return variant
        return self.variants[-1]  # u within rounding of 1.0


_designs: dict[tuple[object, ...], Design] = {}


def design(name: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> Design:
    """Validate once and cache (later calls with the same arguments are one dictionary lookup)."""
    try:
        key: tuple[object, ...] = (name, tuple(variants), None if weights is None else tuple(weights))
        found = _designs.get(key)
    except TypeError:  # unhashable parts: validate below, which names the problem
        key, found = (), None
    if found is not None:
        return found
    made = _validate(name, variants, weights)
    if key and len(_designs) < _MAX_DESIGNS:
        _designs[key] = made
    return made


def _validate(name: object, variants: object, weights: object) -> Design:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise ExperimentConfigError(f"an experiment needs a name of 1-{MAX_NAME_CHARS} characters")
    if isinstance(variants, str | bytes) or not isinstance(variants, Sequence):
        raise ExperimentConfigError(f"experiment {name!r}: variants must be a list of names")
    names = list(variants)
    if not 2 <= len(names) <= MAX_VARIANTS:
        raise ExperimentConfigError(f"experiment {name!r}: needs 2 to {MAX_VARIANTS} variants")
    if not all(isinstance(v, str) and v and len(v) <= MAX_NAME_CHARS for v in names):
        raise ExperimentConfigError(f"experiment {name!r}: variant names must be non-empty text")
    if len(set(names)) != len(names):
        raise ExperimentConfigError(f"experiment {name!r}: variant names must be distinct")
    if weights is None:
        shares = [1.0] * len(names)
    else:
        if isinstance(weights, str | bytes) or not isinstance(weights, Sequence) or len(weights) != len(names):
            raise ExperimentConfigError(f"experiment {name!r}: give one weight per variant")
        try:
            shares = [float(w) for w in weights]
        except (TypeError, ValueError):
            raise ExperimentConfigError(f"experiment {name!r}: weights must be numbers") from None
        if not all(math.isfinite(w) and w >= 0 for w in shares) or sum(shares) <= 0:
            raise ExperimentConfigError(f"experiment {name!r}: weights must be finite, >= 0, not all 0")
    total = sum(shares)
    normalized = tuple(w / total for w in shares)
    cumulative, running = [], 0.0
    for w in normalized:
        running += w
        cumulative.append(running)
    return Design(name, tuple(names), normalized, tuple(cumulative))


def bucket(secret: bytes, name: str) -> float:
    """A number in [0, 1): the first 8 bytes of HMAC-SHA256(secret, domain + name)."""
    digest = hmac.new(secret, _HASH_DOMAIN + name.encode("utf-8"), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def choose_variant(secret: bytes, name: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> str:
    """The variant an install with ``secret`` gets; pure, for simulations and tests."""
    return design(name, variants, weights).pick(bucket(secret, name))


class _Assigner:
    """Per service: the variant drawn per experiment (valid while the secret is the same object) and the
    sessions that already recorded their exposure."""

    def __init__(self) -> None:
        self.drawn: dict[str, tuple[bytes, str]] = {}
        self.exposed: set[tuple[str, str, str, str]] = set()
        self.lock = threading.Lock()

    def assign(self, service: TelemetryService, d: Design) -> str:
        secret = service.consent.secret()
        drawn = self.drawn.get(d.name)
        if drawn is not None and drawn[0] is secret:
            variant = drawn[1]
        else:
            variant = d.pick(bucket(secret, d.name))
            self.drawn[d.name] = (secret, variant)
        unit = service.anonymous_user_id
        seen = (service.session_id, d.name, variant, unit)
        if seen in self.exposed:
            return variant
        with self.lock:
            if seen in self.exposed:
                return variant
            if len(self.exposed) >= _MAX_EXPOSURES:
                self.exposed.clear()
            self.exposed.add(seen)
        # Imported here, once per session at most: this module is reachable from ``import telemetry`` and
        # must stay light on the consent-off path (the event log's package imports DuckDB).
        from exporters.eventlog import schema

        attributes = {
            schema.ATTR_EXPERIMENT_NAME: d.name,
            schema.ATTR_EXPERIMENT_VARIANT: variant,
            schema.ATTR_EXPERIMENT_VARIANTS: list(d.variants),
            schema.ATTR_EXPERIMENT_WEIGHTS: list(d.weights),
            schema.ATTR_EXPERIMENT_UNIT: unit,
        }
        service.track_event_sync(schema.EXPOSURE_EVENT_TYPE, attributes)
        return variant


_assigners: weakref.WeakKeyDictionary[TelemetryService, _Assigner] = weakref.WeakKeyDictionary()
_assigners_lock = threading.Lock()


def experiment_for(
    service: TelemetryService, name: str, variants: Sequence[str], weights: Sequence[float] | None = None
) -> str:
    """:func:`experiment` on an explicit service.

    >>> experiment_for(service, "new_trainer_ui", ["old", "new"], weights=[0.8, 0.2])
    'old'
    """
    d = design(name, variants, weights)
    if not service.is_enabled():
        return d.variants[0]
    try:
        assigner = _assigners.get(service)
        if assigner is None:
            with _assigners_lock:
                assigner = _assigners.setdefault(service, _Assigner())
        return assigner.assign(service, d)
    except Exception:
        service._internal_error("experiment")
        return d.variants[0]


def experiment(name: str, variants: Sequence[str], weights: Sequence[float] | None = None) -> str:
    """This install's variant of experiment ``name``; the first variant (the control) while consent is off.

    >>> telemetry.experiment("onboarding_checklist", ["control", "checklist"])
    'checklist'
    >>> telemetry.experiment("model_picker", ["list", "grid", "cards"], weights=[2, 1, 1])
    'list'
    """
    from telemetry import api

    d = design(name, variants, weights)
    service = api._default or api._service()
    if isinstance(service, api._Unavailable):
        return d.variants[0]
    return experiment_for(service, name, variants, weights)
