"""The arrows between the rooms of ivr/ point one way (the README's flow diagram):

    config <- engine <- store <- jobs <- web <- dashboard <- commands
                     <- checks (config, engine and the emulator's speech model)
    emulator: on its own

The engine is pure: it imports the configuration's values and the standard library (plus
phonenumbers and pytz, which are data), never a framework, the database, twilio or the clock.
The emulator imports nothing else from ivr, so it plays any TwiML app. No import cycles at
all, counting imports inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.repository import ROOT

Graph = dict[str, set[str]]
# What each room may import from ivr (its own modules always). Top-level modules (ivr.clock,
# ivr.logs) are the edges' shared tools.
MAY_IMPORT = {
    "config": {"config"},
    "engine": {"config", "engine"},
    "emulator": {"emulator"},
    "store": {"config", "engine", "store"},
    "jobs": {"config", "engine", "store", "jobs", "clock", "logs"},
    "checks": {"config", "engine", "checks", "emulator"},
    "web": {"config", "engine", "store", "jobs", "web", "clock", "logs", "dashboard"},
    "dashboard": {"config", "engine", "store", "web", "dashboard", "clock", "logs"},
    "commands": None,  # the `ivr` command wires everything together
    "clock": {"clock"},
    "logs": {"logs", "engine"},
}
# Libraries the pure engine may use: data and arithmetic, no I/O.
ENGINE_LIBRARIES = {"phonenumbers", "pytz"}


def module_name(path: Path, base: Path = ROOT) -> str:
    """ivr/engine/menu.py -> ivr.engine.menu (`base`: the directory holding ivr/)."""
    parts = path.relative_to(base).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, base: Path = ROOT) -> Iterator[tuple[str, list[str]]]:
    """Every import statement of `path`, wherever it is: the module imported from, and the
    full names of what is imported from it (none for a plain `import x`)."""
    name = module_name(path, base)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = [node.module] if node.module else []
            if node.level:
                parts = package[: len(package) - node.level + 1] + parts
            source = ".".join(parts)
            yield source, [f"{source}.{alias.name}" for alias in node.names]


def import_graph(base: Path = ROOT) -> Graph:
    """ivr's modules and the ivr modules each imports. `from ivr.x import name` imports ivr.x;
    `from ivr.x import module` imports only that module (ivr.x is a package)."""
    paths = [p for p in (base / "ivr").rglob("*.py") if "migrations" not in p.parts]
    modules = {module_name(path, base) for path in paths}
    graph: Graph = {}
    for path in paths:
        name = module_name(path, base)
        imported: set[str] = set()
        for source, names in imports_of(path, base):
            imported |= {full for full in names if full in modules}
            if not names or any(full not in modules for full in names):
                imported.add(source)
        graph[name] = (imported & modules) - {name}
    return graph


def outside_libraries(path: Path) -> set[str]:
    return {
        name.split(".")[0]
        for name, _ in imports_of(path)
        if name and not name.startswith("ivr") and name.split(".")[0] not in sys.stdlib_module_names
    }


def room(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def wrong_way(graph: Mapping[str, set[str]]) -> list[str]:
    """Imports that break MAY_IMPORT, as "importer -> imported"."""
    found = []
    for importer, imported in sorted(graph.items()):
        allowed = MAY_IMPORT.get(room(importer), set())
        if allowed is None:
            continue
        found += [f"{importer} -> {name}" for name in sorted(imported) if room(name) not in allowed]
    return found


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each once (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph()


@pytest.mark.slow
def test_every_import_points_the_right_way(graph: Graph) -> None:
    assert wrong_way(graph) == []


@pytest.mark.slow
def test_no_import_cycles_anywhere_in_ivr(graph: Graph) -> None:
    assert cycles(graph) == []


def test_the_engine_uses_no_framework_database_twilio_or_clock() -> None:
    for path in sorted((ROOT / "ivr" / "engine").rglob("*.py")):
        assert outside_libraries(path) <= ENGINE_LIBRARIES, path.name


def test_every_module_lives_in_a_room(graph: Graph) -> None:
    rooms = {room(module) for module in graph if module != "ivr"}
    assert rooms <= set(MAY_IMPORT), rooms - set(MAY_IMPORT)


# The rules themselves, on graphs with the mistakes they exist to catch.
def test_a_wrong_way_import_is_caught(graph: Graph) -> None:
    broken = {**graph, "ivr.engine.menu": graph["ivr.engine.menu"] | {"ivr.store.records"}}
    assert wrong_way(broken) == ["ivr.engine.menu -> ivr.store.records"]
    emulator = {**graph, "ivr.emulator.runner": graph["ivr.emulator.runner"] | {"ivr.web.app"}}
    assert wrong_way(emulator) == ["ivr.emulator.runner -> ivr.web.app"]


def test_an_import_cycle_is_caught(graph: Graph) -> None:
    broken = {**graph, "ivr.engine.handoff": graph["ivr.engine.handoff"] | {"ivr.engine.menu"}}
    assert ["ivr.engine.handoff", "ivr.engine.menu"] in cycles(broken)


def test_imports_inside_functions_and_relative_ones_count(tmp_path: Path) -> None:
    package = tmp_path / "ivr" / "engine"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "late.py").write_text("def f():\n    from ivr.store import records\n")
    (package / "near.py").write_text("from . import late\n")
    (tmp_path / "ivr" / "store").mkdir()
    (tmp_path / "ivr" / "store" / "__init__.py").write_text("")
    (tmp_path / "ivr" / "store" / "records.py").write_text("")
    (tmp_path / "ivr" / "__init__.py").write_text("")
    found = import_graph(tmp_path)
    assert "ivr.store.records" in found["ivr.engine.late"]
    assert "ivr.engine.late" in found["ivr.engine.near"]
