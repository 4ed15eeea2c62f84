"""The active span's context, read on the caller's thread by every ``track_*`` call (OTel API only)."""

from __future__ import annotations

from opentelemetry.trace import INVALID_SPAN_CONTEXT, SpanContext, get_current_span


def current_parent() -> SpanContext | None:
    """The active span's context, so a tracked event joins the trace it happened in."""
    context = get_current_span().get_span_context()
    return None if context is INVALID_SPAN_CONTEXT or not context.is_valid else context
