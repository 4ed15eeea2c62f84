"""A separate process for the multi-process tests. Usage: _eventlog_child.py MODE DB [ARGS...]

Modes:
  write DB ID BATCHES ROWS      append BATCHES ledger batches of ROWS rows (time_ns unique per writer),
                                through DuckDBSpanExporter-like short holds; prints "done N" at the end.
  read DB SECONDS               count rows repeatedly; prints each count (must never decrease).
  ingest DB ROWS                append ROWS-row batches forever, printing the committed total after each.
  hold-raw DB SECONDS           open the file with a plain duckdb connection (ignores our lock), print
                                "held", keep it SECONDS.
  linger DB SECONDS             append once with a very long linger (keeps the file open unless someone
                                waits), print "open", then sleep SECONDS and print "opens N".
  wal-crash DB BATCHES ROWS     append BATCHES batches with automatic checkpoints off, print "done", then
                                SIGKILL itself so the WAL is left behind.
  erase DB                      erase the log (as `peft-telemetry delete` does), print "erased".
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from exporters.eventlog import EventLog, schema
from exporters.eventlog.arrow import arrow_schema


def ledger(start: int, n: int, source: str) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "time_ns": list(range(start, start + n)),
            "action": ["granted"] * n,
            "policy_version": ["1"] * n,
            "anonymous_id": ["x" * 16] * n,
            "source": [source] * n,
        },
        schema=arrow_schema(schema.CONSENT_LEDGER),
    )


def main(argv: list[str]) -> None:
    mode, db = argv[0], Path(argv[1])
    if mode == "write":
        writer, batches, rows = int(argv[2]), int(argv[3]), int(argv[4])
        log = EventLog(db, lock_timeout_s=60)
        for b in range(batches):
            log.append(schema.CONSENT_LEDGER, ledger(writer * 10**9 + b * rows, rows, f"w{writer}"))
        log.close()
        print(f"done {batches * rows}", flush=True)
    elif mode == "read":
        log = EventLog(db, lock_timeout_s=60)
        deadline = time.monotonic() + float(argv[2])
        while time.monotonic() < deadline:
            with log.reader() as cur:
                row = cur.execute("SELECT count(*) FROM consent_ledger").fetchone()
            print(row[0] if row else -1, flush=True)
            time.sleep(0.01)
        log.close()
    elif mode == "ingest":
        rows = int(argv[2])
        log = EventLog(db, lock_timeout_s=60)
        total = 0
        while True:
            log.append(schema.CONSENT_LEDGER, ledger(total, rows, "ingest"))
            total += rows
            print(total, flush=True)
    elif mode == "erase":
        with EventLog(db, lock_timeout_s=60) as log:
            log.erase()
        print("erased", flush=True)
    elif mode == "hold-raw":
        conn = duckdb.connect(str(db))
        print("held", flush=True)
        time.sleep(float(argv[2]))
        conn.close()
        print("released", flush=True)
    elif mode == "linger":
        log = EventLog(db, linger_s=3600, lock_timeout_s=60)
        log.append(schema.CONSENT_LEDGER, ledger(0, 1, "linger"))
        print("open", flush=True)
        time.sleep(float(argv[2]))
        print(f"opens {log.opens}", flush=True)
        log.close()
    elif mode == "wal-crash":
        batches, rows = int(argv[2]), int(argv[3])
        log = EventLog(db, linger_s=3600)
        with log.reader() as cur:
            cur.execute("SET wal_autocheckpoint = '1TB'")
            cur.execute("SET checkpoint_threshold = '1TB'")
        for b in range(batches):
            log.append(schema.CONSENT_LEDGER, ledger(b * rows, rows, "wal"))
        print("done", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
