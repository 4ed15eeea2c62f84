"""Span processing between the app and the event log: the consent gate, the off-thread hand-off and the
anonymizer. Nothing here imports ``telemetry`` or ``exporters``: what it needs is passed in."""
