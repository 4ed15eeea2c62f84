"""Dashboard and consent page: load and draw time with 1,000,000 events in the event log (issue 5).

1. One million spans are generated straight into DuckDB with one bulk ``INSERT ... SELECT FROM range()``
   into the schema of ``exporters/eventlog/schema.py`` (events, errors, performance measurements and HTTP spans
   spread over 30 days, with redaction counts), plus metric points and consent ledger rows.
2. The real service (``telemetry.server.create_app``) runs under uvicorn in a child process on a free
   local port. Headless chromium opens ``/dashboard`` (and ``/``) in a fresh browser context each time
   (cold cache) and waits for ``body[data-ready]``, which the page sets once every chart is drawn.
3. Figures: wall time from navigation to data-ready (what a user waits), the browser's own navigation
   start -> ready mark, when the page's report had arrived (``GET /dashboard`` streams it in as the
   document's last part, so the navigation's responseEnd), what the page still waited for after its
   modules ran, and drawing, and two baselines from the same run:
   ``POST /api/telemetry/analytics`` alone over HTTP (the DuckDB queries every number comes from) and a
   fresh browser context navigating to one small file (the browser's own floor on this machine).

4. Beside it, the page as it was before the React components (issue 21): its files are taken from git
   (the commit before the one that removed ``early.js``) and served by a second child service over a
   copy of the same event log, the two pages measured alternately in one run.

Target (issue 5): the pages load and draw within 1 s with 1M events. Target (issue 21): the React page
is not slower to draw than the page before it.
``--quick``: 20,000 events and 2 runs, to keep the benchmark alive in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, Report, alternate, served_settings
from exporters.eventlog import EventLog, schema
from exporters.eventlog.arrow import resource_id

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

_EVENT_TYPES = (
    "training_started", "training_finished", "model_loaded", "dataset_uploaded", "adapter_saved",
    "inference_run", "settings_changed", "app_started", "app_stopped", "evaluation_run", "export_adapter",
    "hub_push",
)  # fmt: skip
_ERROR_TYPES = ("torch.cuda.OutOfMemoryError", "ValueError", "ConnectionError", "FileNotFoundError", "KeyError")
_METRICS = (("api_response_time", "ms", 150.0), ("model_load_time", "ms", 40_000.0),
            ("training_step", "s", 1.5), ("tokenize_batch", "ms", 12.0))  # fmt: skip
_ROUTES = ("/api/telemetry/events", "/api/telemetry/performance", "/api/telemetry/analytics")
_RESOURCE = (
    '{"service.name":"peft-studio","service.version":"0.1.0","os.type":"linux","os.version":"6.1",'
    '"host.arch":"x86_64","process.runtime.name":"CPython","process.runtime.version":"3.11.7"}'
)


def _pick(options: tuple[str, ...], expr: str) -> str:
    """SQL choosing one of ``options`` by an integer expression (constants only, quoted here)."""
    quoted = ", ".join("'" + o.replace("'", "''") + "'" for o in options)
    return f"[{quoted}][CAST(1 + (({expr}) % {len(options)}) AS BIGINT)]"


def _span_select(n_param: str = "?") -> str:
    """One SELECT producing rows in exactly the schema's column order (unknown columns become NULL)."""
    # h: a cheap per-row pseudo-random integer; u (time), v (values) and w (type mix): independent
    # uniform doubles in [0, 1), each from its own hash so that values do not grow with time.
    h = "CAST(hash(i) % 1000000007 AS BIGINT)"
    u = "((hash(i) % 1000003) / 1000003.0)"
    v = "((hash(i * 7 + 3) % 1000003) / 1000003.0)"
    w = "((hash(i * 13 + 5) % 1000003) / 1000003.0)"
    category = (
        f"CASE WHEN {h} % 100 < 70 THEN 'event' WHEN {h} % 100 < 82 THEN 'performance' "
        f"WHEN {h} % 100 < 85 THEN 'error' ELSE 'http' END"
    )
    metric = f"(({h} // 7) % {len(_METRICS)})"
    metric_names = _pick(tuple(m[0] for m in _METRICS), metric)
    metric_units = _pick(tuple(m[1] for m in _METRICS), metric)
    metric_scale = f"[{', '.join(str(m[2]) for m in _METRICS)}][1 + {metric}]"
    route = _pick(_ROUTES, f"{h} // 11")
    # A skewed mix, as in real use: the first types are far more common than the last.
    event_type = _pick(_EVENT_TYPES, f"CAST(floor({len(_EVENT_TYPES)} * {w} * {w}) AS BIGINT)")
    exprs = {
        "trace_id": "md5(i::VARCHAR)",
        "span_id": "substr(md5(i::VARCHAR || 's'), 1, 16)",
        "name": f"CASE c WHEN 'event' THEN {event_type} WHEN 'http' THEN 'POST ' || {route} ELSE c END",
        "kind": "CASE c WHEN 'http' THEN 'SERVER' ELSE 'INTERNAL' END",
        "start_ns": "t",
        "end_ns": "t + CAST(d * 1e6 AS BIGINT)",
        "duration_ms": "d",
        "status_code": "CASE c WHEN 'error' THEN 'ERROR' ELSE 'UNSET' END",
        "status_message": f"CASE c WHEN 'error' THEN {_pick(_ERROR_TYPES, f'{h} // 17')} || ': failed' END",
        "category": "c",
        "event_type": f"CASE c WHEN 'event' THEN {event_type} WHEN 'http' THEN 'POST ' || {route} ELSE c END",
        "session_id": "md5('session' || (i // 5000)::VARCHAR)",
        "error_type": f"CASE c WHEN 'error' THEN {_pick(_ERROR_TYPES, f'{h} // 17')} END",
        "metric_name": f"CASE c WHEN 'performance' THEN {metric_names} END",
        "metric_value": f"CASE c WHEN 'performance' THEN {metric_scale} * (0.2 + 2.0 * {v} * {v}) END",
        "metric_unit": f"CASE c WHEN 'performance' THEN {metric_units} END",
        "attributes": (
            "CASE c WHEN 'http' THEN '{\"http.route\":\"' || " + route + ' || \'","http.method":"POST",'
            '"http.status_code":200}\' ELSE \'{"algorithm":"lora","lora_r":16,"model_name":"llama-2-7b"}\' END'
        ),
        "resource_id": f"'{resource_id(_RESOURCE.encode())}'",
        "scope_name": "'peft_studio.telemetry'",
        "scope_version": "NULL",
        "redactions": (
            f"CASE WHEN {h} % 10 = 0 THEN '{{\"value.email\":1}}' "
            f"WHEN {h} % 10 = 1 THEN '{{\"path.home\":2}}' WHEN {h} % 50 = 2 THEN '{{\"secret.openai\":1}}' END"
        ),
        "links": "NULL",
        "dropped_attributes": "0",
    }
    columns = ", ".join(f"{exprs.get(name, 'NULL')} AS {name}" for name in schema.column_names(schema.SPANS))
    return (
        f"SELECT {columns} FROM ("
        f"  SELECT i, {category} AS c,"
        f"    CAST(? + (? - ?) * {u} AS BIGINT) AS t,"
        f"    CASE WHEN {h} % 100 >= 85 THEN 1 + 40 * {v} * {v} ELSE 0.0 END AS d"
        f"  FROM range({n_param}) r(i))"
    )


def seed_events(db_path: Path, n: int, *, start_ns: int, end_ns: int) -> int:
    """Write ``n`` spans between ``start_ns`` and ``end_ns`` (plus a few metric points and two consent
    ledger rows) into the event log at ``db_path``, creating it if needed. Returns the span count."""
    log = EventLog(db_path, memory_limit="1GB", threads=2, max_events=max(n, 1_000_000))
    try:
        with log.reader() as cur:  # the same read-write connection the writer uses
            cur.execute(
                f"INSERT INTO {schema.SPANS} BY NAME {_span_select()}",
                [start_ns, end_ns, start_ns, n],
            )
            cur.execute(
                f"INSERT INTO {schema.RESOURCES} (resource_id, first_seen_ns, attributes) VALUES (?, ?, ?)",
                [resource_id(_RESOURCE.encode()), start_ns, _RESOURCE],
            )
            cur.execute(
                f"INSERT INTO {schema.CONSENT_LEDGER} (time_ns, action, policy_version, anonymous_id, source) "
                "VALUES (?, 'granted', '2026-11', '0123456789abcdef', 'bench'), "
                "(?, 'granted', '2026-11', '0123456789abcdef', 'bench')",
                [start_ns, start_ns + 1],
            )
            cur.execute("CHECKPOINT")
            (count,) = cur.execute(f"SELECT count(*) FROM {schema.SPANS}").fetchone() or (0,)
    finally:
        log.close()
    return int(count)


# -- the server in a child process ----------------------------------------------------------------------


def _serve_child(home: str, port: int, static: str | None = None) -> None:
    """Entry point of the child process: the real app under uvicorn on 127.0.0.1:port; with ``static``,
    the page's files come from that folder instead of the package (the baseline page)."""
    import uvicorn

    from telemetry.server import create_app

    if static:
        from telemetry.web import _routes

        class _Files:
            @staticmethod
            def files(_package: str) -> Path:
                return Path(static).parent

        _routes.resources = _Files  # type: ignore[assignment]

    uvicorn.run(
        create_app(served_settings(Path(home))), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(home: Path, static: Path | None = None) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("DO_NOT_TRACK", None)
    extra = ["--static", str(static)] if static else []
    proc = subprocess.Popen([sys.executable, __file__, "--serve-child", str(home), str(port), *extra], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/telemetry/consent", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the telemetry server did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def baseline_page(target: Path) -> Path | None:
    """The page's files as they were before the React components, from git; None outside a checkout."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True).stdout

    try:
        removed = git("rev-list", "-n1", "HEAD", "--", "telemetry/web/static/early.js").decode().strip()
        if not removed:
            return None
        names = git("ls-tree", "--name-only", f"{removed}^", "telemetry/web/static/").decode().split()
        folder = target / "static"
        folder.mkdir(parents=True)
        for name in names:
            (folder / Path(name).name).write_bytes(git("show", f"{removed}^:{name}"))
    except (OSError, subprocess.CalledProcessError):
        return None
    return folder


# -- measuring ------------------------------------------------------------------------------------------


def measure(report: Report, urls: dict[str, str], runs: int, n: int, tokens: dict[str, str]) -> None:
    """``urls``: the page under test ("react") and, when available, the page before it ("before");
    ``tokens``: each service's access token (recorded data is served only with it, as to the user's browser
    after the ``/?token=`` swap)."""
    from playwright.sync_api import sync_playwright

    url = urls["react"]
    headers = {"x-peft-token": tokens["react"]}
    with sync_playwright() as pw, httpx.Client(base_url=url, timeout=60, headers=headers) as client:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        browser_ms: dict[str, list[float]] = {}

        def page_load(base: str, path: str, key: str) -> float:
            variant = next(v for v, u in urls.items() if u == base)
            context = browser.new_context(
                viewport={"width": 1280, "height": 800},
                locale="en-US",
                extra_http_headers={"x-peft-token": tokens[variant]},
            )
            try:
                page = context.new_page()
                start = time.perf_counter()
                page.goto(base + path)
                page.wait_for_selector("body[data-ready]", timeout=120_000)
                wall = (time.perf_counter() - start) * 1000
                browser_ms.setdefault(key, []).append(float(page.evaluate("window.__peftReadyMs || NaN")))
                if key.startswith("dashboard"):
                    nav = "performance.getEntriesByType('navigation')[0].responseEnd"
                    browser_ms.setdefault(f"{key}:report", []).append(float(page.evaluate(nav)))
                    for name in ("draw", "analytics"):
                        entry = f"performance.getEntriesByName('peft:{name}')[0]"
                        browser_ms.setdefault(f"{key}:{name}", []).append(
                            float(page.evaluate(f"{entry}?.duration ?? NaN"))
                        )
                return wall
            finally:
                context.close()

        def blank_page() -> float:
            # The floor: a fresh context navigating to one small file, nothing to run or fetch.
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
            try:
                page = context.new_page()
                start = time.perf_counter()
                page.goto(url + "/static/favicon.svg")
                return (time.perf_counter() - start) * 1000
            finally:
                context.close()

        def analytics_only() -> float:
            start = time.perf_counter()
            client.post("/api/telemetry/analytics", json={}).raise_for_status()
            return (time.perf_counter() - start) * 1000

        contenders: dict[str, Callable[[], float]] = {"analytics": analytics_only, "blank": blank_page}
        for variant, base in urls.items():
            page_load(base, "/dashboard", f"dashboard-{variant}")  # warm DuckDB's and the OS's caches once
            contenders[f"dashboard-{variant}"] = lambda base=base, v=variant: page_load(
                base, "/dashboard", f"dashboard-{v}"
            )
            contenders[f"consent-{variant}"] = lambda base=base, v=variant: page_load(base, "/", f"consent-{v}")
        browser_ms.clear()
        samples = alternate(contenders, runs)
        browser.close()
    label = f"{n:,} events"
    report.add(Figure(f"POST /analytics alone ({label})", "ms", samples["analytics"], notes="baseline"))
    report.add(Figure("fresh browser context, navigate to one small file", "ms", samples["blank"], notes="floor"))
    names = {"react": "React page", "before": "page before React"}
    for variant in urls:
        who = names[variant]
        report.add(
            Figure(f"{who}: dashboard navigation -> all charts drawn ({label})", "ms", samples[f"dashboard-{variant}"])
        )
        report.add(Figure(f"{who}: dashboard navigationStart -> ready", "ms", browser_ms[f"dashboard-{variant}"]))
        report.add(
            Figure(
                f"{who}: of which the page with its report received", "ms", browser_ms[f"dashboard-{variant}:report"]
            )
        )
        report.add(
            Figure(
                f"{who}: of which drawing (JS, after the data arrived)", "ms", browser_ms[f"dashboard-{variant}:draw"]
            )
        )
        report.add(
            Figure(
                f"{who}: consent page navigation -> drawn ({label})",
                "ms",
                samples[f"consent-{variant}"],
                goal="< 1000 ms",
            )
        )
        report.add(Figure(f"{who}: consent navigationStart -> ready", "ms", browser_ms[f"consent-{variant}"]))
    report.ratio(f"React page: dashboard navigation -> all charts drawn ({label})", f"POST /analytics alone ({label})",
                 "goal: < 1000 ms absolute")  # fmt: skip
    if "before" in urls:
        for figure in ("dashboard navigationStart -> ready", "of which drawing (JS, after the data arrived)",
                       "consent navigationStart -> ready"):  # fmt: skip
            report.add(Figure(f"React page vs before: {figure}", "ms", report.get(f"React page: {figure}").samples))
            report.ratio(f"React page vs before: {figure}", f"page before React: {figure}", "goal: <= 1.0x")


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 events and 2 runs")
    parser.add_argument("--events", type=int, default=None, help="number of events (default 1,000,000)")
    parser.add_argument("--serve-child", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--static", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=None, help="measurements per contender (default 7, quick 2)")
    args = parser.parse_args(argv)
    if args.serve_child:
        _serve_child(args.serve_child[0], int(args.serve_child[1]), args.static)
        sys.exit(0)
    n = args.events or (20_000 if args.quick else 1_000_000)
    runs = args.runs or (2 if args.quick else 7)
    report = Report(f"Dashboard: load and draw with {n:,} events (issue 5)")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        home = Path(tmp) / "home"
        now = time.time_ns()
        start = time.perf_counter()
        count = seed_events(home / "telemetry" / "events.duckdb", n, start_ns=now - 30 * 86_400 * 10**9, end_ns=now)
        seeded_s = time.perf_counter() - start
        print(f"seeded {count:,} spans in {seeded_s:.1f} s")
        # The quick smoke run measures the React page alone: it checks that the bench runs, not a speed.
        before = None if args.quick else baseline_page(Path(tmp) / "before")
        with contextlib.ExitStack() as stack:
            urls = {"react": stack.enter_context(running_server(home))}
            homes = {"react": home}
            if before is None:
                print("the page before React is not measured (quick run, or no git checkout)")
            else:
                # Its own copy of the event log: two services never share one DuckDB file.
                other = Path(tmp) / "home-before" / "telemetry"
                other.mkdir(parents=True)
                shutil.copy2(home / "telemetry" / "events.duckdb", other / "events.duckdb")
                urls["before"] = stack.enter_context(running_server(other.parent, before))
                homes["before"] = other.parent
            tokens = {v: (h / "config" / "server_token").read_text().strip() for v, h in homes.items()}
            measure(report, urls, runs, count, tokens)
    report.print()
    report.save("dashboard-quick" if args.quick else "dashboard")
    return report


if __name__ == "__main__":
    main()
