"""EventLog in one process: configuration, appends, readers on many threads, pruning, migrations."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from _exporter_helpers import event_rows, ledger_table, partial_table, span_rows

from exporters.eventlog import EventLog, EventLogClosed, EventLogError, schema
from exporters.eventlog.arrow import resource_id

DAY_NS = 86_400 * 10**9


@pytest.fixture
def log(tmp_path: Path) -> Any:
    with EventLog(tmp_path / "ev.duckdb") as opened:
        yield opened


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_events": 0},
        {"max_events": 1.5},
        {"max_events": True},
        {"max_age_days": 0},
        {"max_age_days": float("nan")},
        {"max_age_days": float("inf")},
        {"memory_limit": "lots"},
        {"memory_limit": "128"},
        {"lock_timeout_s": -1},
        {"threads": 0},
        {"linger_s": -0.1},
        {"prune_every_rows": 0},
    ],
)
def test_bad_configuration_raises_value_error(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EventLog(tmp_path / "ev.duckdb", **kwargs)


def test_construction_touches_no_file(tmp_path: Path) -> None:
    with EventLog(tmp_path / "sub" / "ev.duckdb"):
        assert not (tmp_path / "sub").exists()


def test_append_and_read_back(log: EventLog) -> None:
    log.append(schema.CONSENT_LEDGER, ledger_table(3, start=10))
    with log.reader() as cur:
        assert cur.execute("SELECT time_ns, action FROM consent_ledger ORDER BY 1").fetchall() == [
            (10, "granted"),
            (11, "granted"),
            (12, "granted"),
        ]
    stats = log.stats()
    assert (stats.consent_ledger, stats.spans, stats.schema_version) == (3, 0, schema.SCHEMA_VERSION)
    assert stats.size_bytes > 0 and stats.path == str(log.path)


def test_missing_columns_become_null_and_unknown_ones_are_refused(log: EventLog) -> None:
    log.append(schema.CONSENT_LEDGER, ledger_table(1).select(["time_ns", "action"]))
    with log.reader() as cur:
        assert cur.execute("SELECT source FROM consent_ledger").fetchall() == [(None,)]
    with pytest.raises(ValueError):
        log.append("users; DROP TABLE spans", ledger_table(1))
    with pytest.raises(ValueError):
        log.append(schema.CONSENT_LEDGER, ledger_table(1).append_column("evil", pa.array([1])))


def test_append_many_is_one_transaction(log: EventLog) -> None:
    bad_events = pa.table({"trace_id": ["t"], "span_id": ["s"], "seq": ["not a number"]})
    with pytest.raises(EventLogError):
        log.append_many({schema.SPANS: span_rows([1, 2]), schema.SPAN_EVENTS: bad_events})
    assert log.stats().spans == 0, "spans of a failed batch were stored without their events"
    log.append_many({schema.SPANS: span_rows([1, 2]), schema.SPAN_EVENTS: event_rows([1], time_ns=[time.time_ns()])})
    assert (log.stats().spans, log.stats().span_events) == (2, 1)


def test_connections_cannot_read_local_files_and_have_a_memory_limit(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    with EventLog(tmp_path / "ev.duckdb", memory_limit="64MB") as log, log.reader() as cur:
        with pytest.raises(duckdb.Error):
            cur.execute("SELECT * FROM read_text(?)", [str(secret)]).fetchall()
        limit = cur.execute("SELECT current_setting('memory_limit')").fetchone()
        assert limit is not None and limit[0].startswith("61.0 MiB")  # 64 MB in DuckDB's MiB
        assert cur.execute("SELECT current_setting('threads')").fetchone() == (1,)


def test_many_reader_threads_while_a_thread_writes(log: EventLog) -> None:
    log.append(schema.CONSENT_LEDGER, ledger_table(100))
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                with log.reader() as cur:
                    n, total = cur.execute("SELECT count(*), sum(time_ns) FROM consent_ledger").fetchone() or (0, 0)
                # Batches are appended whole: the count is a multiple of 100 and the sum matches it.
                assert n % 100 == 0 and total == n * (n - 1) // 2
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for b in range(1, 30):
        log.append(schema.CONSENT_LEDGER, ledger_table(100, start=b * 100))
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert log.stats().consent_ledger == 3000


def test_nested_use_on_one_thread_and_two_logs_on_one_file(tmp_path: Path) -> None:
    path = tmp_path / "ev.duckdb"
    with EventLog(path) as first, EventLog(path) as second:
        with first.reader() as outer, second.reader() as inner:
            second.append(schema.CONSENT_LEDGER, ledger_table(2))
            assert inner.execute("SELECT count(*) FROM consent_ledger").fetchone() == (2,)
            assert outer.execute("SELECT count(*) FROM consent_ledger").fetchone() == (2,)
        assert first._db is second._db, "one process must share one DuckDB instance per file"


def test_idle_instance_is_closed_after_linger(tmp_path: Path) -> None:
    with EventLog(tmp_path / "ev.duckdb", linger_s=0.05) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1))
        deadline = time.monotonic() + 30
        while log._db._conn is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert log._db._conn is None, "an idle process kept the file open"
        # A plain DuckDB connection (another process's view) can open the file now.
        other = duckdb.connect(str(log.path), read_only=True)
        other.close()


def test_closed_log_refuses_use_and_close_is_idempotent(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "ev.duckdb")
    log.append(schema.CONSENT_LEDGER, ledger_table(1))
    log.close()
    log.close()
    with pytest.raises(EventLogClosed):
        log.stats()
    with pytest.raises(EventLogClosed):
        log.append(schema.CONSENT_LEDGER, ledger_table(1))


# -- bounded storage -------------------------------------------------------------------------------------


def test_prune_keeps_the_newest_max_events_spans_and_their_events(tmp_path: Path) -> None:
    now = time.time_ns()
    ids = list(range(1, 251))
    starts = [now - (300 - i) * 10**9 for i in ids]  # id 250 is the newest
    with EventLog(tmp_path / "ev.duckdb", max_events=100, prune_every_rows=10**9, prune_interval_s=3600) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1))  # the first append's automatic prune runs here
        log.append_many(
            {
                schema.SPANS: span_rows(ids, start_ns=starts),
                schema.SPAN_EVENTS: event_rows(ids, time_ns=[s + 10 for s in starts]),
            }
        )
        assert log.stats().spans == 250, "pruned although no trigger was due"
        assert log.prune() == 300  # 150 spans and their 150 events
        with log.reader() as cur:
            kept = [r[0] for r in cur.execute("SELECT span_id FROM spans ORDER BY start_ns").fetchall()]
            kept_events = cur.execute("SELECT count(*) FROM span_events").fetchone()
        assert kept == [f"{i:016x}" for i in range(151, 251)]
        assert kept_events == (100,)
        assert log.prune() == 0


def test_prune_removes_resources_no_span_refers_to_any_more(tmp_path: Path) -> None:
    now = time.time_ns()
    with EventLog(tmp_path / "ev.duckdb", max_events=10, prune_every_rows=10**9, prune_interval_s=3600) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1))
        for n, (rid, offset) in enumerate([("0000000000000old", 0), ("0000000000000new", 100)]):
            ids = list(range(1 + n * 10, 11 + n * 10))
            rows = span_rows(ids, start_ns=[now - (200 - offset - i) * 10**9 for i in range(10)])
            rows = rows.append_column("resource_id", pa.array([rid] * 10))
            resource = partial_table(schema.RESOURCES, {"resource_id": [rid], "attributes": [f'{{"r":"{rid}"}}']})
            log.append_many({schema.RESOURCES: resource, schema.SPANS: rows})
        assert log.prune() == 10
        with log.reader() as cur:
            left = cur.execute("SELECT resource_id FROM resources").fetchall()
            kept = cur.execute("SELECT DISTINCT resource FROM spans_with_resource").fetchall()
        assert left == [("0000000000000new",)]
        assert kept == [('{"r":"0000000000000new"}',)]


def test_prune_runs_automatically_after_enough_rows(tmp_path: Path) -> None:
    now = time.time_ns()
    with EventLog(tmp_path / "ev.duckdb", max_events=50, prune_every_rows=100, prune_interval_s=3600) as log:
        for b in range(5):
            ids = list(range(b * 60, b * 60 + 60))
            log.append(schema.SPANS, span_rows(ids, start_ns=[now + i for i in ids]))
        # 300 rows appended; prunes ran at the first append and after rows 120 and 240.
        spans = log.stats().spans
        assert spans < 300
        with log.reader() as cur:
            newest = cur.execute("SELECT max(start_ns) FROM spans").fetchone()
        assert newest == (now + 299,), "pruning removed new rows instead of old ones"


def test_prune_by_age_spares_the_consent_ledger(tmp_path: Path) -> None:
    now = time.time_ns()
    old, recent = now - 100 * DAY_NS, now - DAY_NS
    points = partial_table(
        schema.METRIC_POINTS,
        {"name": ["m", "m"], "kind": ["gauge", "gauge"], "time_ns": [old, recent], "value": [1.0, 2.0]},
    )
    with EventLog(tmp_path / "ev.duckdb", max_age_days=90, prune_interval_s=3600) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(1, start=old))
        log.append_many(
            {
                schema.SPANS: span_rows([1, 2], start_ns=[old, recent]),
                schema.SPAN_EVENTS: event_rows([1, 2], time_ns=[old, recent]),
                schema.METRIC_POINTS: points,
            }
        )
        log.prune()
        stats = log.stats()
        assert (stats.spans, stats.span_events, stats.metric_points) == (1, 1, 1)
        assert stats.oldest_ns == recent
        assert stats.consent_ledger == 1


# -- migrations ------------------------------------------------------------------------------------------


def test_an_empty_version_0_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "ev.duckdb"
    duckdb.connect(str(path)).close()  # a database file without any table
    with EventLog(path) as log:
        assert log.stats().schema_version == schema.SCHEMA_VERSION
        log.append(schema.CONSENT_LEDGER, ledger_table(1))
        assert log.stats().consent_ledger == 1


def test_a_version_1_file_is_migrated_forward_keeping_its_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real version-1 file: the resource JSON on every span row.
    path = tmp_path / "ev.duckdb"
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 1)
    linux, mac = '{"os.type":"linux","session.id":"s1"}', '{"os.type":"darwin","session.id":"s2"}'
    with EventLog(path) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(2))
        with log.reader() as cur:
            for i, resource in enumerate([linux, mac, linux, None]):
                cur.execute("INSERT INTO spans (span_id, start_ns, resource) VALUES (?, ?, ?)", [f"s{i}", i, resource])
        assert log.stats().schema_version == 1
    monkeypatch.undo()
    with EventLog(path) as log:
        assert log.stats().schema_version == schema.SCHEMA_VERSION == 2
        with log.reader() as cur:
            viewed = cur.execute("SELECT span_id, resource_id, resource FROM spans_with_resource ORDER BY start_ns")
            rows = viewed.fetchall()
            stored = cur.execute("SELECT resource_id, first_seen_ns, attributes FROM resources ORDER BY 2").fetchall()
            assert cur.execute("SELECT count(*) FROM consent_ledger").fetchone() == (2,)
            versions = cur.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    # Each distinct resource stored once, under the id the writer computes; every span still finds its own.
    assert stored == [(resource_id(linux.encode()), 0, linux), (resource_id(mac.encode()), 1, mac)]
    assert [(span_id, resource) for span_id, _, resource in rows] == [
        ("s0", linux), ("s1", mac), ("s2", linux), ("s3", None)
    ]  # fmt: skip
    assert [rid for _, rid, _ in rows] == [stored[0][0], stored[1][0], stored[0][0], None]
    assert versions == [(1,), (2,)]


def test_a_later_migration_step_runs_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ev.duckdb"
    with EventLog(path) as log:
        log.append(schema.CONSENT_LEDGER, ledger_table(2))
    migrations = {**schema.MIGRATIONS, 3: ("ALTER TABLE consent_ledger ADD COLUMN region VARCHAR",)}
    monkeypatch.setattr(schema, "MIGRATIONS", migrations)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 3)
    for _ in range(2):
        with EventLog(path) as log:
            assert log.stats().schema_version == 3
            with log.reader() as cur:
                assert cur.execute("SELECT count(*), count(region) FROM consent_ledger").fetchone() == (2, 0)
                versions = cur.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    assert versions == [(1,), (2,), (3,)]


def test_a_file_from_newer_code_is_refused_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "ev.duckdb"
    with EventLog(path) as log:
        log.stats()
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    conn.close()
    with EventLog(path) as log, pytest.raises(EventLogError, match="newer"):
        log.stats()
