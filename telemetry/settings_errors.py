"""Configuration mistakes explained: which variable, what form it wants; misspelt variables pointed out.

pydantic's own error names a field and a rule ("Input should be a valid list"), and pydantic-settings'
one for a bad JSON value names neither the variable nor the form. :class:`TelemetrySettingsError` says
"PEFT_TELEMETRY_EXTRA_DENIED_KEYS: not valid; expected a JSON list of strings, e.g. ...". Values are
never quoted (a misplaced secret must not end up in a log).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic.fields import FieldInfo

ENV_PREFIX = "PEFT_TELEMETRY_"

#: Fields read from a variable other than PEFT_TELEMETRY_<NAME>.
_VARIABLE = {"home": "PEFT_STUDIO_HOME", "do_not_track": "DO_NOT_TRACK"}
#: Forms that the annotation alone does not describe well.
_FORMS = {
    "extra_denied_keys": 'a JSON list of strings, e.g. ["api_key", "customer_email"]',
    "allowlist_keys": 'a JSON list of strings, e.g. ["algorithm", "model_size"]',
    "extra_patterns": 'a JSON object of rule id to regular expression, e.g. {"ticket": "TCK-[0-9]+"}',
    "db_memory_limit": "a size such as 32MB, 512MiB or 1GB",
    "home": "a folder path",
}


class TelemetrySettingsError(ValueError):
    """Wrong configuration, explained: ``variable`` (or keyword) and the form ``expected``.

    >>> try:
    ...     TelemetrySettings()            # with PEFT_TELEMETRY_QUEUE_SIZE=lots
    ... except TelemetrySettingsError as exc:
    ...     print(exc.variable)            # PEFT_TELEMETRY_QUEUE_SIZE
    """

    def __init__(self, message: str, *, setting: str, variable: str, expected: str) -> None:
        super().__init__(message)
        self.setting = setting
        self.variable = variable
        self.expected = expected


class TelemetrySettingsWarning(UserWarning):
    """A ``PEFT_TELEMETRY_*`` variable that no setting reads (most likely a typo)."""


def variable_for(name: str) -> str:
    """The environment variable a field is read from."""
    return _VARIABLE.get(name, ENV_PREFIX + name.upper())


def known_variables(fields: Mapping[str, FieldInfo]) -> set[str]:
    names = {variable_for(name) for name in fields} | {ENV_PREFIX + name.upper() for name in fields}
    for info in fields.values():
        for choice in getattr(info.validation_alias, "choices", ()) or ():
            if isinstance(choice, str):
                names.add(choice.upper())
    return names


def warn_unknown_variables(environ: Mapping[str, str], fields: Mapping[str, FieldInfo]) -> None:
    """Warn once per unknown ``PEFT_TELEMETRY_*`` variable, naming the closest real setting."""
    unknown = [n for n in environ if n.upper().startswith(ENV_PREFIX)]
    if not unknown:
        return  # the usual case: no PEFT_TELEMETRY_* variable at all
    import difflib  # only when there is something to compare

    known = known_variables(fields)
    settable = sorted(n for n in known if n.startswith(ENV_PREFIX))
    for name in unknown:
        upper = name.upper()
        if upper in known:
            continue
        close = difflib.get_close_matches(upper, settable, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f"; the settings are {', '.join(settable)}"
        warnings.warn(f"{name} is not a telemetry setting and is ignored{hint}", TelemetrySettingsWarning, stacklevel=3)


def expected_form(name: str, info: FieldInfo) -> str:
    if name in _FORMS:
        return _FORMS[name]
    annotation = info.annotation
    bounds = {key: getattr(m, key) for m in info.metadata for key in ("ge", "gt", "le", "lt") if hasattr(m, key)}
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    span = ""
    if isinstance(low, int | float) and isinstance(high, int | float):
        span = f" above {low:,} and at most {high:,}" if "gt" in bounds else f" from {low:,} to {high:,}"
    if annotation is bool:
        return "true or false (1/0, yes/no)"
    if annotation is int:
        return f"a whole number{span}"
    if annotation is float:
        return f"a number{span}"
    if annotation is Path or Path in get_args(annotation):
        return "a path"
    return "text"


def _field_of(loc: Iterable[Any], fields: Mapping[str, FieldInfo]) -> str | None:
    for part in loc:
        key = str(part)
        if key in fields:
            return key
        for name in fields:
            if variable_for(name) == key.upper() or ENV_PREFIX + name.upper() == key.upper():
                return name
    return None


def explain(exc: ValueError, fields: Mapping[str, FieldInfo], given: Iterable[str]) -> TelemetrySettingsError:
    """One :class:`TelemetrySettingsError` for a pydantic ``ValidationError`` or pydantic-settings error."""
    given = set(given)
    errors: list[dict[str, Any]] = list(getattr(exc, "errors", lambda: [])())
    if errors and errors[0].get("type") == "extra_forbidden":
        import difflib

        key = ".".join(str(p) for p in errors[0].get("loc", ())) or "?"
        close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        return TelemetrySettingsError(f"{key}: not a telemetry setting{hint}", setting=key, variable=key, expected="")
    if errors:
        first = errors[0]
        name = _field_of(first.get("loc", ()), fields)
        problem = str(first.get("msg", "not valid")).removeprefix("Value error, ")
        if name is None:  # a rule across fields, e.g. batch_size > queue_size
            found = [(m.start(), f) for f in fields if (m := re.search(rf"\b{f}\b", problem))]
            name = min(found)[1] if found else None
    else:  # pydantic-settings could not even parse the value (bad JSON for a list or dict)
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1) if match else None
        problem = "not valid"
    if name is None:
        return TelemetrySettingsError(f"invalid telemetry settings: {problem}", setting="", variable="", expected="")
    where = name if name in given else variable_for(name)
    expected = expected_form(name, fields[name])
    if not errors:
        problem = f"cannot be parsed; expected {expected}"
    elif name not in _FORMS or "expected" in problem:
        problem = f"{problem} (expected {expected})"
    else:
        problem = f"{problem}; expected {expected}"
    return TelemetrySettingsError(f"{where}: {problem}", setting=name, variable=where, expected=expected)
