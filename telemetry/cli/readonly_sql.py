"""The read-only check on SQL a user types (``peft-telemetry query``), by DuckDB's own parse tree.

Three layers, none of them a keyword filter:

1. DuckDB's parser must find exactly one statement of type SELECT (which covers WITH, FROM-first,
   VALUES, DESCRIBE, SHOW and SUMMARIZE; COPY, PRAGMA, SET, ATTACH, INSTALL, DELETE, CALL and friends
   have their own types).
2. Its parse tree (``json_serialize_sql``) may hold only query nodes that read: a data-modifying CTE
   (``WITH d AS (DELETE ... RETURNING *) SELECT ...``) is a SELECT statement whose tree holds a
   ``DELETE_QUERY_NODE``, and is refused, however deeply it is nested. Table functions that act on the
   database file (``checkpoint()``, ``force_checkpoint()``) are refused by name.
3. The statement then runs on a connection DuckDB opened read-only (``EventLog.read_only``), with
   external access and extension auto-install/auto-load off: whatever slips past 1 and 2 cannot write.
"""

from __future__ import annotations

from typing import Any, Final

import duckdb
import orjson

from telemetry.cli.common import CliError

ALLOWED_STATEMENTS: Final = "SELECT, WITH, FROM, VALUES, DESCRIBE, SHOW or SUMMARIZE"
_READING_NODES: Final = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
_FILE_FUNCTIONS: Final = frozenset({"checkpoint", "force_checkpoint"})
_PARSER_CONFIG: Final[dict[str, str | bool | int | float | list[str]]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def validate_sql(sql: str) -> str:
    """The one read-only statement in ``sql``, or a :class:`CliError` saying why not.

    >>> validate_sql("SELECT count(*) FROM spans")
    'SELECT count(*) FROM spans'
    """
    if not sql.strip():
        raise CliError("query needs SQL (or --report NAME)")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise CliError(f"SQL does not parse: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise CliError(f"query runs exactly one statement, this SQL has {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise CliError(f"query is read-only: only {ALLOWED_STATEMENTS} is allowed, not {kind.name}")
    problem = _writing_part(_parse_tree(sql))
    if problem is not None:
        raise CliError(f"query is read-only: {problem}")
    return sql


def _parse_tree(sql: str) -> Any:
    conn = duckdb.connect(":memory:", config=_PARSER_CONFIG)
    try:
        row = conn.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    except duckdb.Error as exc:
        raise CliError(f"SQL does not parse: {_first_line(exc)}") from None
    finally:
        conn.close()
    tree = orjson.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise CliError(
            f"query is read-only: DuckDB cannot show this statement reads only ({tree.get('error_message')})"
        )
    return tree


def _writing_part(node: Any) -> str | None:
    """What in the parse tree would write, or None when every node only reads."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            kind = item.get("type")
            if isinstance(kind, str) and kind.endswith("_NODE") and kind not in _READING_NODES:
                return f"a {kind.removesuffix('_QUERY_NODE').removesuffix('_NODE')} inside the statement is refused"
            name = item.get("function_name")
            if isinstance(name, str) and name.lower() in _FILE_FUNCTIONS:
                return f"{name}() acts on the database file and is refused"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
