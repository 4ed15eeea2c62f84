"""Walking values: nested dicts and lists, JSON inside strings, and OpenTelemetry attribute maps.

Two output shapes, one set of rules:

* :meth:`Walker.value` keeps the shape (dicts stay dicts) for JSON-like payloads such as ``properties``.
  A key that a key rule denies disappears with its whole value.
* :meth:`Walker.attributes` produces valid OpenTelemetry attribute values only. Nested mappings are
  flattened to dotted keys (``{"config": {"lora_r": 16}}`` -> ``config.lora_r = 16``), which every OTel
  exporter accepts and analytics can filter on without parsing JSON. Lists of one primitive type stay
  tuples (ints mixed with floats become floats); any other list (mixed types, None, nested dicts) becomes
  one JSON string. NaN and infinities become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, since
  JSON (and so the export) cannot carry them.

Nested keys are judged by their dotted path (``user.name`` is removed, ``model.name`` is kept). Strings that
hold JSON objects or arrays are parsed, scrubbed as structures and re-serialized (compactly, and only when
something changed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from math import isfinite
from typing import Any, Final

import orjson

from processors._bounded_cache import BoundedCache

from . import rules
from .declared import Declared, PropertySpec
from .detectors import Counts, Scanner, count
from .freetext import FreeTextPolicy
from .keys import HASH, KeyClassifier, is_version_key
from .plain import plain_data
from .validators import is_card_int

AttrValue = str | bool | int | float | tuple[str, ...] | tuple[bool, ...] | tuple[int, ...] | tuple[float, ...]
#: Per-key special handling inside attribute maps (exception.message -> first line only, ...).
Special = Mapping[str, Callable[[str, Counts], str]]

#: (shown key, rule decision or HASH or None, dotted quads are versions, counts from scanning the key)
KeyInfo = tuple[str, str | None, bool, tuple[tuple[str, int], ...]]

_DROP: Final = object()
_CACHE_LIMIT: Final = 4096
_CACHEABLE_LEN: Final = 256
_SMALL_INT: Final = 10**12
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_NON_FINITE: Final = {math.inf: "Infinity", -math.inf: "-Infinity"}
_MAX_JOINED: Final = 4096


def _joins(pieces: list[str]) -> tuple[str, ...]:
    return ("".join(pieces), " ".join(pieces), "/".join(pieces))


def _finite(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else _NON_FINITE[value]


class Walker:
    """Applies key rules, hashing and the scanner to any value."""

    def __init__(
        self,
        scanner: Scanner,
        keys: KeyClassifier,
        free_text: FreeTextPolicy,
        max_depth: int = 16,
        max_items: int = 1000,
    ) -> None:
        self._scan = scanner
        self._keys = keys
        self.free_text = free_text
        #: Strict catalog mode: undeclared properties of events are dropped (set from the catalog).
        self.strict = False
        self._max_depth = max_depth
        self._max_items = max_items
        # Benign values repeat (event types, model names): remember what short strings became. One cache per
        # way a string can be treated (everything a result depends on besides the string itself): free text
        # under an ordinary key, and declared text (detectors only). Values under version keys, and results
        # that hashed an identifier, are never cached. A test pins that no result crosses between them.
        self._text_cache: BoundedCache[str, tuple[str, tuple[tuple[str, int], ...]]] = BoundedCache(_CACHE_LIMIT)
        self._declared_cache: BoundedCache[str, tuple[str, tuple[tuple[str, int], ...]]] = BoundedCache(_CACHE_LIMIT)
        self._key_cache: BoundedCache[str, KeyInfo] = BoundedCache(_CACHE_LIMIT)

    def clear_caches(self) -> None:
        self._text_cache.clear()
        self._declared_cache.clear()
        self._key_cache.clear()
        self.free_text.clear_caches()

    # --- keys --------------------------------------------------------------------------------------------
    def key_info(self, key: str) -> KeyInfo:
        """Everything about a key, computed once: how it is shown, its rule decision, version-ness.

        Keys come from code and repeat on every span, so this is one dict lookup on the hot path. The shown
        form is scanned too: a caller may key a dict by e-mail address or path.
        """
        info = self._key_cache.get(key)
        if info is None:
            local: Counts = {}
            shown = self.free_text.value(self._scan.scan_text(key, local), local)
            info = (shown, self._keys.classify(key), is_version_key(key), tuple(local.items()))
            self._key_cache.put(key, info)
        return info

    # --- strings -----------------------------------------------------------------------------------------
    def text(
        self,
        s: str,
        counts: Counts,
        key: str | None = None,
        depth: int = 0,
        version: bool = False,
        free: bool = True,
    ) -> str:
        """A string value: JSON inside it is walked as a structure, anything else is scanned as text.

        ``free`` applies the free-text policy (:mod:`.freetext`) after the detectors; declared properties
        of the event catalog pass ``free=False`` (detectors only).
        """
        cacheable = len(s) <= _CACHEABLE_LEN and not version
        cache = self._text_cache if free else self._declared_cache
        if cacheable:
            hit = cache.get(s)
            if hit is not None:
                for rule, n in hit[1]:
                    counts[rule] = counts.get(rule, 0) + n
                return hit[0]
        local: Counts = {}
        out = self._text_uncached(s, local, key, depth, version, free)
        for rule, n in local.items():
            counts[rule] = counts.get(rule, 0) + n
        if cacheable and rules.ID_HASHED not in local:  # hashes change when the secret rotates
            cache.put(s, (out, tuple(local.items())))
        return out

    def _text_uncached(
        self, s: str, counts: Counts, key: str | None, depth: int, version_key: bool, free: bool = True
    ) -> str:
        stripped = s.strip()
        if len(stripped) >= 2 and stripped[0] in "{[" and stripped[-1] in "}]" and depth < self._max_depth:
            try:
                parsed = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, (dict, list)):
                local: Counts = {}
                cleaned = self._value(parsed, local, key, depth + 1)
                if not local:
                    return s
                for rule, n in local.items():
                    count(counts, rule, n)
                return self._scan.limit(orjson.dumps(cleaned).decode(), counts)
        out = self._scan.scan_text(s, counts, version_key)
        return self.free_text.value(out, counts) if free else out

    # --- JSON-like values --------------------------------------------------------------------------------
    def value(self, v: Any, counts: Counts, key: str | None = None, depth: int = 0) -> Any:
        """Scrubbed copy of a JSON-like value; ``_DROP`` if ``key`` itself is denied."""
        if key is not None:
            decision = self._keys.classify(key)
            if decision is None:
                return self._value(v, counts, key, depth)
            if decision == HASH:
                count(counts, rules.ID_HASHED)
                return self.hash_any(v)
            if decision is not None:
                count(counts, decision)
                return _DROP
        return self._value(v, counts, key, depth)

    def _value(self, v: Any, counts: Counts, key: str | None, depth: int) -> Any:
        t = type(v)
        if t is str:
            return self.text(v, counts, key, depth, self.key_info(key)[2] if key else False)
        if v is None or t is bool:
            return v
        if t is int:
            if is_card_int(v):
                count(counts, rules.VALUE_CARD)
                return rules.MARKERS[rules.VALUE_CARD]
            if not _INT64_MIN <= v <= _INT64_MAX:
                return self.text(str(v), counts)  # OTel and JSON writers take 64-bit ints only
            return v
        if t is float:
            return self._float(v, counts)
        if depth >= self._max_depth:
            count(counts, rules.LIMIT_DEPTH)
            return rules.MARKERS[rules.LIMIT_DEPTH]
        if isinstance(v, Mapping):
            out: dict[str, Any] = {}
            for i, (k, item) in enumerate(v.items()):
                if i >= self._max_items:
                    count(counts, rules.LIMIT_DEPTH)
                    break
                ks = str(k)
                cleaned = self.value(item, counts, f"{key}.{ks}" if key else ks, depth + 1)
                if cleaned is not _DROP:
                    out[self._shown_key(ks, counts)] = cleaned
            return out
        if isinstance(v, (list, tuple, set, frozenset)):
            items = list(v)
            if len(items) > self._max_items:
                count(counts, rules.LIMIT_DEPTH)
                items = items[: self._max_items]
            if self._split_finding(items, counts):
                return [rules.MARKERS[rules.VALUE_SPLIT]]
            return [self._value(item, counts, key, depth + 1) for item in items]
        return self._value(plain_data(v, counts), counts, key, depth + 1)

    def _float(self, v: float, counts: Counts) -> float | str:
        if v.is_integer() and 1e12 <= abs(v) < 1e19 and is_card_int(int(abs(v))):
            count(counts, rules.VALUE_CARD)
            return rules.MARKERS[rules.VALUE_CARD]
        return _finite(v)

    def _split_finding(self, items: list[Any], counts: Counts) -> bool:
        """Whether the items, joined, hold what no single item does (a card, key or path split in pieces)."""
        pieces = [x if type(x) is str else str(x) for x in items if type(x) in (str, int)]
        if len(pieces) < 2 or sum(map(len, pieces)) > _MAX_JOINED:
            return False
        joins = (" ".join(pieces), "/".join(pieces)) if any(type(x) is int for x in items) else _joins(pieces)
        for joined in joins:
            local: Counts = {}
            self._scan.scan_text(joined, local)
            if local:
                alone: Counts = {}
                for piece in pieces:
                    self._scan.scan_text(piece, alone)
                if any(local.get(rule, 0) > alone.get(rule, 0) for rule in local):
                    count(counts, rules.VALUE_SPLIT)
                    return True
        return False

    def hash_any(self, v: Any) -> Any:
        """Keyed hash of an identifier; structure is not worth keeping for an id, so one hash per value."""
        if v is None:
            return None
        if isinstance(v, (str, int, float, bool)):
            return self._scan.hash(str(v))
        try:
            return self._scan.hash(orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode())
        except TypeError:
            return self._scan.hash(str(v))

    # --- OpenTelemetry attributes ------------------------------------------------------------------------
    def attributes(
        self,
        attrs: Mapping[str, Any] | None,
        counts: Counts,
        special: Special | None = None,
        skip: str | None = None,
        allowlist: bool = True,
        declared: Declared | None = None,
        system_prefix: str = "peft.",
    ) -> dict[str, AttrValue]:
        """Flattened, scrubbed attribute map with valid OTel values (see the module docstring).

        In allowlist mode, top-level keys not on the list are dropped, except the ``special`` keys (the
        ``exception.*`` conventions, which have scrubbers of their own) and when ``allowlist`` is False
        (resource and scope attributes: they come from code, not from callers).

        ``declared`` (an event's catalog entry, see :mod:`.declared`) stores declared properties of the right
        type without the free-text policy and drops keys it does not list (strict mode hands an empty map
        for undeclared events); keys under ``system_prefix`` are the pipeline's own and always kept.
        """
        out: dict[str, AttrValue] = {}
        if not attrs:
            return out
        allowlist = allowlist and self._keys.allowlist_mode
        key_cache = self._key_cache
        text_cache = self._text_cache
        for k, v in attrs.items():
            ks = k if type(k) is str else str(k)
            if ks == skip:
                continue
            if special is not None and ks in special and isinstance(v, str):
                out[ks] = special[ks](v, counts)
                continue
            if allowlist and not self._keys.allowed(ks):
                count(counts, rules.KEY_NOT_ALLOWLISTED)
                continue
            if declared is not None and not ks.startswith(system_prefix):
                spec: PropertySpec | None = declared.get(ks)
                if spec is None:
                    if self.strict:
                        count(counts, rules.KEY_UNDECLARED)
                        continue
                elif spec.accepts(v) and self._declared(ks, v, out, counts):
                    continue
            info = key_cache.get(ks) or self.key_info(ks)
            if info[3]:
                for rule, n in info[3]:
                    counts[rule] = counts.get(rule, 0) + n
            # The common cases inline, under a harmless key: a string already seen, a number, a flag.
            if info[1] is None:
                t = type(v)
                if t is str and not info[2]:
                    hit = text_cache.get(v)
                    if hit is not None:
                        for rule, n in hit[1]:
                            counts[rule] = counts.get(rule, 0) + n
                        out[info[0]] = hit[0]
                        continue
                elif (
                    (t is float and isfinite(v) and -_SMALL_INT < v < _SMALL_INT)
                    or t is bool
                    or (t is int and -_SMALL_INT < v < _SMALL_INT)
                ):
                    out[info[0]] = v  # too small to be a card number (12+ digits), finite
                    continue
            self._flat(ks, info, v, out, counts, 0)
        return out

    def _declared(self, key: str, v: Any, out: dict[str, AttrValue], counts: Counts) -> bool:
        """Store a declared property of the declared type (detectors only); False when a key rule applies."""
        info = self._key_cache.get(key) or self.key_info(key)
        if info[1] is not None or type(v) is not str:
            return False
        for rule, n in info[3]:
            counts[rule] = counts.get(rule, 0) + n
        out[info[0]] = self.text(v, counts, key, 0, info[2], free=False)
        return True

    def _shown_key(self, key: str, counts: Counts) -> str:
        info = self._key_cache.get(key) or self.key_info(key)
        for rule, n in info[3]:
            counts[rule] = counts.get(rule, 0) + n
        return info[0]

    def _flat(self, path: str, info: KeyInfo, v: Any, out: dict[str, AttrValue], counts: Counts, depth: int) -> None:
        shown, decision, version, _ = info
        if decision is not None:
            if decision == HASH:
                count(counts, rules.ID_HASHED)
                hashed = self.hash_any(v)
                if hashed is not None:
                    out[shown] = hashed
            else:
                count(counts, decision)
            return
        t = type(v)
        if t is str:
            out[shown] = self.text(v, counts, path, 0, version)
        elif t is bool:
            out[shown] = v
        elif t is int:
            if is_card_int(v):
                count(counts, rules.VALUE_CARD)
                out[shown] = rules.MARKERS[rules.VALUE_CARD]
            elif not _INT64_MIN <= v <= _INT64_MAX:
                out[shown] = self.text(str(v), counts)
            else:
                out[shown] = v
        elif t is float:
            out[shown] = self._float(v, counts)
        elif v is None:
            return  # OTel has no null attribute value
        elif isinstance(v, Mapping):
            if depth >= self._max_depth:
                count(counts, rules.LIMIT_DEPTH)
                out[shown] = rules.MARKERS[rules.LIMIT_DEPTH]
                return
            for k2, v2 in v.items():
                child = f"{path}.{k2}"
                child_info = self.key_info(child)
                # Shown form of a nested key: parent's shown form + the child's own shown form.
                child_shown = f"{shown}.{self._shown_key(str(k2), counts)}"
                self._flat(child, (child_shown, *child_info[1:]), v2, out, counts, depth + 1)
        elif isinstance(v, (list, tuple, set, frozenset)):
            out[shown] = self._sequence(self._value(list(v), counts, path, depth + 1))
        else:
            self._flat(path, info, plain_data(v, counts), out, counts, depth + 1)

    @staticmethod
    def _sequence(items: Any) -> AttrValue:
        if not isinstance(items, list):
            return str(items)  # depth marker
        if not items:
            return ()
        types = {type(x) for x in items}
        if len(types) == 1 and next(iter(types)) in (str, bool, int, float):
            return tuple(items)
        if types <= {int, float}:
            return tuple(float(x) for x in items)
        return orjson.dumps(items).decode()


DROP: Final = _DROP
