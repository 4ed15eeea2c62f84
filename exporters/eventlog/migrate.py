"""Bring a database file forward to ``schema.SCHEMA_VERSION`` when it is opened.

Each step of ``schema.MIGRATIONS`` runs in its own transaction together with the row that records it in
the schema-version table, so a crash leaves the file at the old or the new version, never in between. A
file without the version table is version 0 (empty, or made before versioning; version 1's statements
are ``CREATE ... IF NOT EXISTS`` so they adopt such tables). A file newer than this code is refused
rather than written with an older layout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import duckdb

from exporters.eventlog import schema
from exporters.eventlog.errors import EventLogError, failure_message

# Identifiers below come from schema constants, never from input.
_VERSION_TABLE_EXISTS = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main'"
_CREATE_VERSION_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {schema.SCHEMA_VERSION_TABLE} ("
    + ", ".join(f"{name} {sql_type}" for name, sql_type in schema.SCHEMA_VERSION_COLUMNS)
    + ")"
)
_CURRENT_VERSION = f"SELECT coalesce(max(version), 0) FROM {schema.SCHEMA_VERSION_TABLE}"  # noqa: S608
_RECORD_VERSION = f"INSERT INTO {schema.SCHEMA_VERSION_TABLE} (version, applied_ns) VALUES (?, ?)"  # noqa: S608


def first_row(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of a query, reading the result to its end: duckdb 2.x refuses new work on a
    connection whose last result was left half-read by ``fetchone()``."""
    rows = conn.execute(sql, params).fetchall() if params is not None else conn.execute(sql).fetchall()
    return rows[0] if rows else None


@contextlib.contextmanager
def transaction(conn: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
    """``BEGIN`` ... ``COMMIT``; ``ROLLBACK`` when the block raises. A DuckDB error becomes
    ``EventLogError("<what> failed (<type>)")``: DuckDB's message may quote a value, ours never does.

    >>> with transaction(cur, "append"):
    ...     cur.execute("INSERT INTO ...")
    """
    try:
        conn.begin()
        try:
            yield
            conn.commit()
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.rollback()
            raise
    except duckdb.Error as exc:
        raise EventLogError(failure_message(what, exc)) from exc


def current_version(conn: duckdb.DuckDBPyConnection) -> int:
    row = first_row(conn, _VERSION_TABLE_EXISTS, [schema.SCHEMA_VERSION_TABLE])
    if not row or not row[0]:
        return 0
    found = first_row(conn, _CURRENT_VERSION)
    return int(found[0]) if found else 0


def migrate(conn: duckdb.DuckDBPyConnection) -> int:
    """Apply the missing steps; return the version the file is at afterwards.

    Reads ``schema.SCHEMA_VERSION`` and ``schema.MIGRATIONS`` at call time (tests add steps)."""
    target = int(schema.SCHEMA_VERSION)
    version = current_version(conn)
    if version > target:
        raise EventLogError(
            f"event log file is at schema version {version}, newer than this code ({target}); "
            "upgrade peft-studio-telemetry to read it"
        )
    if version == target:
        return version
    conn.execute(_CREATE_VERSION_TABLE)
    for step in range(version + 1, target + 1):
        statements = schema.MIGRATIONS.get(step)
        if statements is None:
            raise EventLogError(f"no migration to schema version {step}")
        with transaction(conn, f"migration to schema version {step}"):
            for statement in statements:
                conn.execute(statement)
            conn.execute(_RECORD_VERSION, [step, time.time_ns()])
    return target
