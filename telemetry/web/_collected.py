""" "What we collect", generated from the event log's schema and the code that fills it.

The consent screen must not promise something the code does not do. Its "what we never collect" list
comes from the anonymizer's rules (``GET /api/telemetry/rules``); this module builds the other half from
the same names the writer uses: the schema's columns and attribute keys, the resource attributes that
:func:`telemetry.system.build_resource` really sets, and the HTTP attribute allowlist of the server's
instrumentation. A field named here that the schema does not have fails the tests, not the user.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from exporters.eventlog import schema
from telemetry.system import build_resource


class CollectedItem(BaseModel):
    """One kind of data we keep, with the stored fields that hold it."""

    id: str
    title: str
    detail: str
    #: Column names of the event log, attribute keys or resource attribute keys.
    fields: list[str]


_SPAN = set(schema.column_names(schema.SPANS))
_LEDGER = set(schema.column_names(schema.CONSENT_LEDGER))

#: HTTP attributes kept when the server package is not installed (the page is embedded elsewhere).
_HTTP_FALLBACK: Final = ("http.route", "http.method", "http.status_code")


def _columns(table: set[str], *names: str) -> list[str]:
    missing = [n for n in names if n not in table]
    if missing:  # a renamed column must break the build, not silently change the promise
        raise LookupError(f"not in the event log schema: {missing}")
    return list(names)


def _http_attributes() -> list[str]:
    try:
        from telemetry.http_spans import HTTP_ATTRIBUTES
    except ImportError:
        return list(_HTTP_FALLBACK)
    # The instrumentation writes the older semantic-convention names unless told otherwise.
    return [key for key in _HTTP_FALLBACK if key in HTTP_ATTRIBUTES]


def collected_items() -> list[CollectedItem]:
    """What is stored, in display order. Pure: builds a throwaway resource, touches no file."""
    resource = build_resource("app", "0", "session")
    resource_keys = sorted(k for k in resource.attributes if not k.startswith("telemetry."))
    return [
        CollectedItem(
            id="events",
            title="Application events",
            detail="The event type (which feature was used), its properties after anonymization, and when.",
            fields=_columns(_SPAN, "event_type", "attributes", "start_ns"),
        ),
        CollectedItem(
            id="errors",
            title="Errors",
            detail="Exception type and category, the first line of the message, and file names, line numbers "
            "and function names from the stack trace.",
            fields=[*_columns(_SPAN, "error_type", "status_message"), schema.ATTR_ERROR_CATEGORY],
        ),
        CollectedItem(
            id="performance",
            title="Performance measurements",
            detail="Timings and sizes the app measures, with their units (for example a model's load time).",
            fields=_columns(_SPAN, "metric_name", "metric_value", "metric_unit"),
        ),
        CollectedItem(
            id="http",
            title="API response times",
            detail="For each request to this service: the route template (never the raw path or query), "
            "method, status code and duration.",
            fields=[*_http_attributes(), *_columns(_SPAN, "duration_ms")],
        ),
        CollectedItem(
            id="system",
            title="System information",
            detail="Operating system family and release, processor architecture, Python and app "
            "versions, and a random id for this run of the app. Never the computer's name, your user name "
            "or an IP address.",
            fields=resource_keys,
        ),
        CollectedItem(
            id="consent",
            title="Your consent choices",
            detail="When you turned telemetry on or off, under which policy version, with your anonymous id.",
            fields=_columns(_LEDGER, "time_ns", "action", "policy_version", "anonymous_id"),
        ),
    ]
