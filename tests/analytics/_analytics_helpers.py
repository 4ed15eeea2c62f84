"""Analytics test data: an event log file as the exporter creates it, and rows whose answers are known."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from exporters.eventlog import schema
from exporters.eventlog.arrow import resource_id
from exporters.eventlog.migrate import migrate

NS = 1_000_000_000
T0 = 1_790_000_000 * NS  # a few years from now, on a round second
Row = dict[str, Any]

_ARROW_TYPES = {"BIGINT": pa.int64(), "DOUBLE": pa.float64(), "INTEGER": pa.int32()}


def create_log(path: Path) -> None:
    """An empty event log exactly as the exporter creates it (every migration step)."""
    with duckdb.connect(str(path)) as con:
        migrate(con)


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[Row]) -> None:
    """Append rows (missing columns are NULL) in one statement, through Arrow like the real writer. A span
    row may carry its ``resource`` JSON text: it is stored in ``resources`` and referenced, as the writer does."""
    if table == schema.SPANS:
        rows = _resources_stored(con, rows)
    columns = schema.TABLES[table]
    data = pa.table(
        {name: pa.array([r.get(name) for r in rows], _ARROW_TYPES.get(t, pa.string())) for name, t in columns}
    )
    con.register("incoming", data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
    finally:
        con.unregister("incoming")


def _resources_stored(con: duckdb.DuckDBPyConnection, rows: list[Row]) -> list[Row]:
    out, resources = [], []
    for row in rows:
        row = dict(row)
        text = row.pop("resource", None)
        if text is not None:
            row["resource_id"] = resource_id(text.encode())
            resources.append(
                {"resource_id": row["resource_id"], "first_seen_ns": row.get("start_ns"), "attributes": text}
            )
        out.append(row)
    if resources:
        data = pa.Table.from_pylist(resources)
        con.register("incoming_resources", data)
        try:
            con.execute(
                f"INSERT INTO {schema.RESOURCES} BY NAME SELECT DISTINCT ON (resource_id) * FROM incoming_resources i "
                f"WHERE NOT EXISTS (SELECT 1 FROM {schema.RESOURCES} r WHERE r.resource_id = i.resource_id)"
            )
        finally:
            con.unregister("incoming_resources")
    return out


def span(i: int, category: str, event_type: str, **extra: Any) -> Row:
    """Span number ``i`` starts ``i`` seconds after T0 and lasts ``duration_ms`` (default 0)."""
    duration_ms = float(extra.pop("duration_ms", 0.0))
    start = extra.pop("start_ns", T0 + i * NS)
    row: Row = {
        "trace_id": f"{i:032x}", "span_id": f"{i:016x}", "name": event_type, "kind": "INTERNAL",
        "start_ns": start, "end_ns": start + int(duration_ms * 1e6), "duration_ms": duration_ms,
        "status_code": "UNSET", "category": category, "event_type": event_type, "session_id": "s1",
        "attributes": "{}", "resource": '{"os.type": "linux", "service.version": "1.0.0"}',
        "scope_name": "peft_studio.telemetry",
    }  # fmt: skip
    row.update(extra)
    return row


def dataset() -> list[Row]:
    """Every kind of row the dashboard reads, with irregular values so that answers are not guessable."""
    rnd = random.Random(20261128)
    rows: list[Row] = []
    i = 0

    def add(category: str, event_type: str, **extra: Any) -> None:
        nonlocal i
        rows.append(span(i, category, event_type, **extra))
        i += 1

    weights = {"training_started": 37, "model_loaded": 23, "export_clicked": 11, "app_started": 5, "o'brien": 1}
    events = [t for t, w in weights.items() for _ in range(w)]
    rnd.shuffle(events)
    for n, t in enumerate(events):
        add("event", t, session_id=("s1", "s2", "s3")[n % 3], duration_ms=rnd.uniform(0, 50))
    for _ in range(41):
        add("performance", "performance", metric_name="step_time", metric_unit="ms",
            metric_value=round(rnd.lognormvariate(4, 1), 3))  # fmt: skip
    for _ in range(13):
        add("performance", "performance", metric_name="load_time", metric_unit="s",
            metric_value=round(rnd.uniform(0.5, 9.0), 3))  # fmt: skip
    for _ in range(7):  # a huge p95, but bytes are not "slow"
        add("performance", "performance", metric_name="checkpoint_size", metric_unit="By",
            metric_value=float(rnd.randint(10**8, 10**10)))  # fmt: skip
    add("performance", "performance", metric_name="step_time", metric_unit="ms", metric_value=float("nan"))
    for error_type, category, message in [
        ("ValueError", "config", "ValueError: bad rank 0"),
        ("ValueError", "config", "ValueError: bad rank 3"),
        ("ValueError", "data", "ValueError: empty dataset"),
        ("torch.OutOfMemoryError", "out_of_memory", "OutOfMemoryError: CUDA out of memory"),
        ("KeyError", None, "KeyError: 'lora_alpha'"),
        (None, None, None),
    ]:
        attrs = "{}" if category is None else f'{{"{schema.ATTR_ERROR_CATEGORY}": "{category}", "context.step": 3}}'
        add("error", "error", error_type=error_type, status_code="ERROR", status_message=message,
            attributes=attrs, session_id="s2")  # fmt: skip
    for route, method, ms, status, state in [
        ("/api/telemetry/events", "POST", 12.0, 200, "UNSET"),
        ("/api/telemetry/events", "POST", 18.5, 200, "UNSET"),
        ("/api/telemetry/events", "POST", 7.25, 200, "UNSET"),
        ("/api/telemetry/events", "POST", 250.0, 500, "ERROR"),
        ("/api/telemetry/events", "GET", 3.0, 200, "UNSET"),
        ("/api/telemetry/analytics", "POST", 120.0, 200, "UNSET"),
        ("/api/telemetry/analytics", "POST", 95.5, 503, "UNSET"),  # a 5xx the status did not mark
    ]:
        key_method, key_status = ("http.request.method", "http.response.status_code")
        if ms == 95.5:  # legacy semantic-convention keys
            key_method, key_status = ("http.method", "http.status_code")
        attrs = f'{{"http.route": "{route}", "{key_method}": "{method}", "{key_status}": {status}}}'
        add("http", f"{method} {route}", kind="SERVER", duration_ms=ms, status_code=state, attributes=attrs,
            session_id="s3")  # fmt: skip
    for _ in range(4):
        add("span", "load_model", duration_ms=rnd.uniform(100, 900), session_id=None)
    # What the anonymizer removed, on a few spans (arrays and non-numbers are not counts and are ignored).
    for n, red in enumerate(['{"email": 1, "path.home": 2}', '{"email": 3}', '{"email": 1, "path.home": 2}',
                             "[1, 2]", '{"api_key": "x"}', '{"api_key": 4}']):  # fmt: skip
        rows[n * 7]["redactions"] = red
    rows[-1]["resource"] = (
        '{"os.type": "darwin", "os.version": "24.1", "host.arch": "arm64", "process.runtime.version": "3.11.9",'
        ' "service.name": "peft-studio", "service.version": "2.3.4", "session.id": "s1"}'
    )
    return rows


CONSENT = [
    {"time_ns": T0 - 100 * NS, "action": "granted", "policy_version": "1", "anonymous_id": "a" * 16, "source": "api"},
    {"time_ns": T0 + 500 * NS, "action": "revoked", "policy_version": "1", "anonymous_id": "a" * 16, "source": "cli"},
    {"time_ns": T0 + 900 * NS, "action": "granted", "policy_version": "2", "anonymous_id": "b" * 16, "source": "api"},
]


Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def opener(path: Path) -> Connect:
    """What the event log hands analytics: a fresh connection per use, closed afterwards."""

    @contextmanager
    def connect() -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(path))
        try:
            yield con
        finally:
            con.close()

    return connect
