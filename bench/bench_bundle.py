"""UI bundle sizes (issue 21): the React components package and the page ``peft-telemetry serve`` shows,
raw and gzip-compressed, beside the page as it was before the React components (its files from git).

1. The page is built into a temporary folder (exactly the build committed in ``telemetry/web/static``);
   the package (``ui/dist``: ES modules, unminified as published, React left out as a peer) and the
   host-app example (real React 19 bundled with the components, minified: what an app that has no React
   yet would ship) are measured as ``make ui-test`` built them (they are not rebuilt here: the browser
   tests read the host-app build while this may run).
2. Sizes are of the files' bytes and of ``gzip -6`` (what a web server sends); the baseline is the page
   before React, taken from git (the commit before the one that removed ``early.js``).

Target (issue 21): page JS <= 60 KB gzip. One sample per figure: sizes do not vary between runs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, Report
from bench.bench_dashboard import baseline_page

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "ui"


def _sizes(files: list[Path]) -> tuple[float, float]:
    """(raw KB, gzip KB) of the files together, each compressed on its own as a server sends it."""
    raw = sum(f.stat().st_size for f in files)
    packed = sum(len(gzip.compress(f.read_bytes(), compresslevel=6, mtime=0)) for f in files)
    return raw / 1000, packed / 1000


def _build_page(out: Path) -> None:
    env = dict(os.environ, PEFT_UI_PAGE_OUT=str(out))
    command = ["npx", "--no-install", "vite", "build", "--config", "vite.page.config.ts"]
    subprocess.run(command, cwd=UI, check=True, env=env)


def add_sizes(report: Report, name: str, files: list[Path], notes: str = "", goal: str = "") -> None:
    raw, packed = _sizes(files)
    report.add(Figure(f"{name}: raw", "KB", [raw], notes=notes))
    report.add(Figure(f"{name}: gzip", "KB", [packed], goal=goal, notes=notes))


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same figures (sizes are quick), saved apart")
    args = parser.parse_args(argv)
    host = sorted((UI / "host-example" / "dist" / "assets").glob("*.js"))
    if not (UI / "node_modules").is_dir() or not (UI / "dist" / "index.js").is_file() or not host:
        raise SystemExit("ui/ is not built: run `make ui-test` (npm ci, package and host-app builds) first")
    report = Report("UI bundle sizes: components package and page (issue 21)")
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        page = Path(tmp) / "page"
        _build_page(page)
        before = baseline_page(Path(tmp) / "before")
        if before is not None:
            add_sizes(report, "page before React, JS", sorted(before.glob("*.js")), notes="baseline")
            add_sizes(report, "page before React, CSS", sorted(before.glob("*.css")), notes="baseline")
        add_sizes(report, "React page, JS", sorted(page.glob("*.js")), goal="<= 60 KB")
        add_sizes(report, "React page, CSS", sorted(page.glob("*.css")))
        add_sizes(report, "components package, JS (unminified, React not included)", [UI / "dist" / "index.js"])
        add_sizes(report, "components package, CSS", [UI / "dist" / "style.css"])
        add_sizes(report, "host-app example, JS (React 19 + components, minified)", host)
    if before is not None:
        for part in ("raw", "gzip"):
            report.ratio(f"React page, JS: {part}", f"page before React, JS: {part}")
    report.print()
    report.save("bundle-quick" if args.quick else "bundle")
    return report


if __name__ == "__main__":
    main()
