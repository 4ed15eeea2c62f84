"""Declared events: what the app says its events carry, as the anonymizer needs it.

The app-facing side (pydantic models, the catalog endpoint) lives in ``telemetry.catalog``; it hands the
anonymizer these plain, frozen structures. For an event in the catalog:

* a declared property whose value has the declared type (and, for an enum, one of its values) is stored as
  declared: the key rules and value detectors still run, the free-text policy does not;
* a property that is not declared, or whose value has another type, gets the free-text policy;
* in strict mode an undeclared property is dropped (counted under ``key.undeclared``), and so is every
  property of an event that is not in the catalog at all.

Example::

    EventDeclarations({"model_loaded": {"model_name": PropertySpec("string")}}, strict=True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

PropertyType = Literal["string", "integer", "number", "boolean", "enum"]


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One declared property: its type and, for ``enum``, the allowed values."""

    type: PropertyType
    enum: tuple[str, ...] | None = None

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has the declared type (bool is not an integer; an int is a number)."""
        t = type(value)
        if self.type == "string":
            return t is str
        if self.type == "enum":
            return t is str and self.enum is not None and value in self.enum
        if self.type == "boolean":
            return t is bool
        if self.type == "integer":
            return t is int
        return t is int or t is float


Declared = Mapping[str, PropertySpec]


@dataclass(frozen=True)
class EventDeclarations:
    """Declared properties per event name, and whether undeclared properties are dropped."""

    events: Mapping[str, Declared] = field(default_factory=dict)
    strict: bool = False

    def for_event(self, name: Any) -> Declared | None:
        """The declarations that apply to an event: its own, an empty map in strict mode, else None."""
        declared = self.events.get(name) if type(name) is str else None
        if declared is None and self.strict:
            return {}
        return declared
