"""The import rules of docs/architecture.md, checked on the source: imports point down, never sideways.

telemetry -> analytics -> processors / exporters. ``processors/`` and ``exporters/`` never import
``telemetry/`` or ``analytics/``, nor each other; ``analytics/`` never imports ``telemetry/``. Every import
statement counts, including those inside functions (lazy imports) and relative ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("telemetry", "analytics", "processors", "exporters")

#: package -> the top-level packages of ours it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "telemetry": frozenset(),
    "analytics": frozenset({"telemetry"}),
    "processors": frozenset({"telemetry", "analytics", "exporters"}),
    "exporters": frozenset({"telemetry", "analytics", "processors"}),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source`` (the text of ``module``), relative resolved."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def _imports_of(path: Path) -> list[tuple[int, str]]:
    return _imported_modules(
        path.read_text(encoding="utf-8"), _module_name(path), is_package=path.name == "__init__.py"
    )


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_point_down(package: str) -> None:
    forbidden = FORBIDDEN[package]
    violations = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _sources(package)
        for line, module in _imports_of(path)
        if module.split(".")[0] in forbidden
    ]
    assert not violations, "\n".join(violations)


def test_the_walk_sees_every_kind_of_import() -> None:
    # What a rule breaker would write: a lazy import inside a function, a from-import, an aliased import,
    # relative imports that climb out of the package. A checker that missed these would pass vacuously.
    source = (
        "import exporters.eventlog\n"
        "from . import rules\n"
        "def later():\n"
        "    from telemetry.service import TelemetryService\n"
        "    import analytics as a\n"
        "    from ..background import BackgroundSpanProcessor\n"
        "    from ...exporters.debug import StderrSpanExporter\n"
    )
    modules = [module for _, module in _imported_modules(source, "processors.anonymizer.engine")]
    assert modules == [
        "exporters.eventlog",
        "processors.anonymizer",
        "telemetry.service",
        "analytics",
        "processors.background",
        "exporters.debug",
    ]
    assert [m for _, m in _imported_modules("from . import x", "processors.anonymizer", is_package=True)] == [
        "processors.anonymizer"
    ]


def test_every_package_is_walked() -> None:
    assert _module_name(ROOT / "processors" / "anonymizer" / "__init__.py") == "processors.anonymizer"
    for package in PACKAGES:
        assert len(_sources(package)) > 1, package


def test_the_failure_log_helper_is_one_module_in_two_homes() -> None:
    # processors/ and exporters/ may not import each other, so each holds the same small helper.
    assert (ROOT / "processors" / "_failure_log.py").read_bytes() == (
        ROOT / "exporters" / "_failure_log.py"
    ).read_bytes()


def test_the_bounded_cache_helper_is_one_module_in_two_homes() -> None:
    # processors/ and exporters/ may not import each other, so each holds the same small helper.
    assert (ROOT / "processors" / "_bounded_cache.py").read_bytes() == (
        ROOT / "exporters" / "_bounded_cache.py"
    ).read_bytes()


# -- imports from two threads at once -------------------------------------------------------------------
# The pipeline is built on the telemetry thread (after enable()) while the app's threads may import our
# modules too. Python 3.11 takes a module's import lock before it imports the module's package, so a package
# whose __init__ imports its own modules, or two modules importing each other, can deadlock two importing
# threads; Python breaks the deadlock by handing one of them a partly initialized module: an ImportError in
# the app, or a pipeline that never starts. Below ``telemetry/`` (which the app imports first, on one thread)
# the module graph must therefore be acyclic, package files included.
LOWER = ("analytics", "processors", "exporters")


def _runtime_imports(path: Path) -> set[str]:
    """Our modules ``path`` imports when it is imported (module level, outside ``if TYPE_CHECKING``)."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    body = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        body.extend(node.body + node.orelse if isinstance(node, ast.If | ast.Try) else [node])
    found: set[str] = set()
    for node in body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".") if is_package else module.split(".")[:-1]
            source = (
                ".".join([*base[: len(base) - (node.level - 1)], *([node.module] if node.module else [])])
                if node.level
                else node.module or ""
            )
            names = [source, *(f"{source}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            # Importing a.b.c imports a and a.b first.
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {name for name in found if name.split(".")[0] in PACKAGES and name != module}


def _lower_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for package in LOWER for path in _sources(package)}
    graph = {name: _runtime_imports(path) & paths.keys() for name, path in paths.items()}
    for name in graph:  # a module's package is imported before it
        if "." in name and name.rsplit(".", 1)[0] in graph:
            graph[name].add(name.rsplit(".", 1)[0])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (a path that comes back to its start), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_below_telemetry_no_two_modules_wait_for_each_other_on_import() -> None:
    cycle = _cycle(_lower_graph())
    assert not cycle, " -> ".join(cycle) + " (import what a package exports lazily: see exporters/eventlog/__init__.py)"


def test_the_cycle_check_sees_a_package_that_imports_its_own_module() -> None:
    graph = _lower_graph()
    assert "exporters.eventlog" in graph["exporters.eventlog.log"]  # module -> its package
    graph["exporters.eventlog"] = graph["exporters.eventlog"] | {"exporters.eventlog.log"}  # an eager __init__
    assert {"exporters.eventlog", "exporters.eventlog.log"} <= set(_cycle(graph))


def test_the_lazy_exports_helper_is_one_module_in_two_homes() -> None:
    assert (ROOT / "processors" / "_lazy.py").read_bytes() == (ROOT / "exporters" / "_lazy.py").read_bytes()


def test_a_package_loads_what_it_exports_when_asked_not_when_imported() -> None:
    import subprocess
    import sys

    code = (
        "import sys, exporters.eventlog as p\n"
        "assert 'exporters.eventlog.log' not in sys.modules\n"
        "from exporters.eventlog import EventLog\n"
        "assert EventLog is sys.modules['exporters.eventlog.log'].EventLog and p.EventLog is EventLog\n"
        "from exporters.eventlog import schema  # a module of the package, as before\n"
        "try:\n"
        "    from exporters.eventlog import NotExported\n"
        "except ImportError as exc:\n"
        "    assert 'NotExported' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('an unknown name was importable')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
