"""``peft-telemetry hub --lake DIR --port N``: the fleet hub, and ``query --lake`` over what it wrote."""

from __future__ import annotations

import argparse
import errno
import re
from pathlib import Path
from typing import Any

from telemetry.cli.common import EXIT_OK, CliError, add_allow_host, format_ns, render_table, to_json

#: The master URLs Spark itself accepts (``SparkContext`` refuses others only after the JVM started).
_SPARK_MASTER = re.compile(r"local(\[[^\]]+\])?|local-cluster\[[^\]]+\]|spark://\S+|k8s://\S+|yarn")


def hub(args: argparse.Namespace) -> int:
    from telemetry.hub.serve import run_hub

    if args.compact:
        return _compact(Path(args.lake))
    if not 0 <= args.port < 65_536:
        raise CliError("--port must be between 0 (any free port) and 65535")
    if args.min_installs < 1:
        raise CliError("--min-installs must be >= 1")
    try:
        run_hub(
            Path(args.lake),
            args.host,
            args.port,
            token=args.token,
            min_installs=args.min_installs,
            allowed_hosts=args.allow_host,
        )
    except ValueError as exc:  # e.g. a lake written by a newer schema version
        raise CliError(str(exc)) from None
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise CliError(
            f"the hub could not listen on {args.host}:{args.port} ({exc.strerror}): "
            "choose another with --port N, or --port 0 for a free one"
        ) from None
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a foreground hub is stopped; uvicorn has shut down cleanly
    return EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", required=True, metavar="DIR", help="the lake folder (created if missing)")
    parser.add_argument("--port", type=int, default=4318, help="port to listen on (default 4318; 0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--token", help="the installs' credential (default: the lake's own, created once)")
    parser.add_argument(
        "--min-installs",
        type=int,
        default=5,
        metavar="K",
        help="reports the hub serves leave out groups of fewer than K installs (default 5)",
    )
    parser.add_argument(
        "--compact", action="store_true", help="compact every day before today into one file each, then exit"
    )
    add_allow_host(parser)


def check_lake(lake: Path) -> None:
    """Refuse, in one line, a ``--lake`` that is no lake: a report over it would just look empty. An empty
    folder is a lake no hub wrote to yet (it reports nothing); a folder holding other things is a mistake
    (the lake's parent, a data home).

    Example::

        check_lake(Path("/srv/lake"))  # raises CliError unless `peft-telemetry hub` wrote there
    """
    from exporters.lake.schema import META_FILE, SPANS_DIR

    if not lake.is_dir():
        raise CliError(f"--lake {lake} is not a folder")
    if not (lake / META_FILE).is_file() and not (lake / SPANS_DIR).is_dir() and any(lake.iterdir()):
        raise CliError(
            f"--lake {lake} holds no lake (no {META_FILE} or {SPANS_DIR}/): "
            "pass the folder `peft-telemetry hub --lake DIR` writes"
        )


def check_spark_master(args: argparse.Namespace) -> None:
    """``--spark-master`` only with ``--engine spark``, and in a form Spark accepts: checked before a JVM starts.

    Example::

        check_spark_master(argparse.Namespace(engine="spark", spark_master="spark://10.0.0.5:7077"))  # passes
    """
    master = args.spark_master
    if master and args.engine != "spark":
        raise CliError("--spark-master needs --engine spark")
    if master and not _SPARK_MASTER.fullmatch(master):
        raise CliError(
            f"--spark-master {master!r} is not a Spark master URL: local[*], local[N] or spark://HOST:PORT "
            "(a standalone master's port is 7077 unless set otherwise)"
        )


def spark_failure(exc: Exception, args: argparse.Namespace) -> CliError | None:
    """A failure inside Spark (py4j or pyspark) as one line naming the master and what to check; None for
    anything else. Without it the user reads "Py4JJavaError: An error occurred while calling None...".

    Example::

        failure = spark_failure(exc, args)  # in an ``except Exception as exc:``
    """
    if args.engine != "spark" or not type(exc).__module__.startswith(("py4j", "pyspark")):
        return None
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return CliError(
        f"Spark failed on master {args.spark_master or 'local[*]'}: {first} (is the master running and "
        "reachable from here, and Java 17+ installed? Spark's own log above says more)"
    )


def _compact(lake: Path) -> int:
    from datetime import UTC, datetime

    from exporters.lake import compact_day
    from exporters.lake.schema import LAKE_KINDS, PARTITION

    check_lake(lake)
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    compacted = 0
    for kind in LAKE_KINDS:  # spans, then metric points (lake schema 2; absent in a version-1 lake)
        days = sorted(p.name.split("=", 1)[1] for p in (lake / kind).glob(f"{PARTITION}=*") if p.is_dir())
        for day in (d for d in days if d < today):
            replaced, rows = compact_day(lake, day, kind=kind)
            if replaced:
                compacted += 1
                print(f"{kind} {day}: {replaced} files -> 1 ({rows:,} rows)")
    # Say so when there was nothing to do: silence after a command reads as "did it run at all?".
    print(
        f"Compacted {compacted} day(s); today ({today} UTC) stays with the hubs, days already in one file are left."
        if compacted
        else f"Nothing to compact: every day before today ({today} UTC) is already one file."
    )
    return EXIT_OK


def lake_report(args: argparse.Namespace) -> str:
    """``query --lake DIR --report NAME``: a fleet report, as JSON or tables."""
    from analytics.fleet import FLEET_REPORTS, run_fleet_report

    if args.sql is not None:
        raise CliError("--lake runs the named fleet reports only (--report NAME)")
    if not args.report or args.report not in FLEET_REPORTS:
        raise CliError(f"--lake needs --report, one of {', '.join(sorted(FLEET_REPORTS))}")
    if args.min_installs < 1:
        raise CliError("--min-installs must be >= 1")
    check_spark_master(args)
    check_lake(Path(args.lake))
    try:
        answer = run_fleet_report(
            Path(args.lake),
            args.report,
            engine=args.engine,
            min_installs=args.min_installs,
            spark_master=args.spark_master,
        )
    except ImportError as exc:
        raise CliError(f"--engine {args.engine} needs the fleet extra: pip install 'peft-studio-telemetry[fleet]' "
                       f"({exc.name} is missing)") from None  # fmt: skip
    except Exception as exc:
        failure = spark_failure(exc, args)
        if failure is None:
            raise
        raise failure from None
    if args.format == "json":
        return to_json(answer)
    return "\n\n".join(_section(name, answer[name]) for name in FLEET_REPORTS[args.report])


def _section(name: str, value: Any) -> str:
    title = name.replace("_", " ").capitalize()
    if value is None or value == []:
        return f"{title}\n(none, or fewer installs than --min-installs)"
    rows = value if isinstance(value, list) else [value]
    columns = list(rows[0])
    return f"{title}\n{render_table(columns, [[_shown(c, row[c]) for c in columns] for row in rows])}"


def _shown(column: str, value: Any) -> Any:
    """Times as dates in tables (JSON keeps the nanoseconds), as the local reports show them."""
    if column.endswith("_ns") and isinstance(value, int) and not isinstance(value, bool):
        return format_ns(value)
    return value


def add_query_arguments(parser: argparse.ArgumentParser) -> None:
    """The fleet options of ``query`` (reports over a lake instead of the local event log)."""
    parser.add_argument("--lake", metavar="DIR", help="report over a fleet lake written by `peft-telemetry hub`")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="--lake: the engine (default duckdb; spark needs the fleet extra and Java 17+)",
    )
    parser.add_argument("--spark-master", metavar="URL", help="--lake --engine spark: master (default local[*])")
    parser.add_argument(
        "--min-installs",
        type=int,
        default=5,
        metavar="K",
        help="--lake: leave out groups of fewer than K installs (default 5; 1 shows everything, e.g. to try it)",
    )
