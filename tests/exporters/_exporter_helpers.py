"""Shared helpers for the event log tests: real OTel SDK spans, child processes, byte searches."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from exporters.eventlog import schema
from exporters.eventlog.arrow import arrow_schema

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("_eventlog_child.py")


@contextmanager
def recording_provider(
    resource: Mapping[str, Any] | None = None,
) -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A real TracerProvider whose finished spans land in memory (to hand to our exporters)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(dict(resource or {"session.id": "session-1"})))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    try:
        yield provider, memory
    finally:
        provider.shutdown()


def make_spans(
    n: int, *, attributes: Mapping[str, Any] | None = None, name: str = "op", resource: Mapping[str, Any] | None = None
) -> list[ReadableSpan]:
    with recording_provider(resource) as (provider, memory):
        tracer = provider.get_tracer("tests", "1.0")
        for i in range(n):
            attrs = {"i": i, **(attributes or {})}
            tracer.start_span(name, attributes=attrs).end()
        return list(memory.get_finished_spans())


def ledger_table(n: int, *, start: int = 0, source: str = "api") -> pa.Table:
    """Consent ledger rows with time_ns start..start+n-1 (a small table to exercise append)."""
    return pa.Table.from_pydict(
        {
            "time_ns": list(range(start, start + n)),
            "action": ["granted"] * n,
            "policy_version": ["1"] * n,
            "anonymous_id": ["0123456789abcdef"] * n,
            "source": [source] * n,
        },
        schema=arrow_schema(schema.CONSENT_LEDGER),
    )


def partial_table(table: str, columns: Mapping[str, list[Any]]) -> pa.Table:
    """Rows for some columns of a schema table (the rest become NULL on append)."""
    fields = [f for f in arrow_schema(table) if f.name in columns]
    return pa.Table.from_pydict(dict(columns), schema=pa.schema(fields))


def span_rows(ids: list[int], *, start_ns: list[int] | None = None, marker: str = "") -> pa.Table:
    """Minimal span rows with chosen start times (default: now + id, so age pruning spares them)."""
    now = time.time_ns()
    starts = start_ns if start_ns is not None else [now + i for i in ids]
    return pa.Table.from_pydict(
        {
            "trace_id": [f"{i:032x}" for i in ids],
            "span_id": [f"{i:016x}" for i in ids],
            "name": ["op"] * len(ids),
            "kind": ["INTERNAL"] * len(ids),
            "start_ns": starts,
            "end_ns": [s + 1000 for s in starts],
            "status_code": ["UNSET"] * len(ids),
            "attributes": [f'{{"m":"{marker}"}}'] * len(ids),
        },
        schema=pa.schema([f for f in arrow_schema(schema.SPANS) if f.name in {
            "trace_id", "span_id", "name", "kind", "start_ns", "end_ns", "status_code", "attributes"}]),
    )  # fmt: skip


def event_rows(ids: list[int], *, time_ns: list[int]) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "trace_id": [f"{i:032x}" for i in ids],
            "span_id": [f"{i:016x}" for i in ids],
            "seq": [0] * len(ids),
            "name": ["ev"] * len(ids),
            "time_ns": time_ns,
            "attributes": ["{}"] * len(ids),
        },
        schema=arrow_schema(schema.SPAN_EVENTS),
    )


def marker() -> str:
    """48 random hex characters: a value no compression or coincidence reproduces."""
    return secrets.token_hex(24)


def files_containing(folder: Path, needle: str) -> list[Path]:
    data = needle.encode()
    found = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if data in path.read_bytes():
                found.append(path)
    return found


def child(*args: str, **popen: Any) -> subprocess.Popen[str]:
    """Start tests/exporters/_eventlog_child.py in a fresh interpreter (no fork of our state)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )
