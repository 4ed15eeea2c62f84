"""The fleet hub: an OTLP/HTTP receiver for many installs that writes the Parquet lake.

``peft-telemetry hub --lake DIR --port N`` runs it (:mod:`telemetry.hub.serve`). Nothing here is imported
by ``import telemetry``.
"""
