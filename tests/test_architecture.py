"""The layering of lexigram.monitor, checked on its source: imports point down, no cycles.

Floors (``docs/architecture.md``; design, "Layering"): 1 foundation (exceptions,
protocols, config, hooks, defaults and the private helpers) -> 2 core (metrics, tracing,
health) -> 3 features -> 4 backends -> 5 middleware -> 6 di and cli. The facade
``lexigram/monitor/__init__.py`` and ``__main__`` import from every floor and are exempt.

Every ``import`` / ``from ... import`` counts: at module level, inside functions and under
``TYPE_CHECKING``, since each is a dependency a reader and a refactoring must respect.
``from .pkg import name`` is an edge to ``pkg`` (its ``__init__``) and also to
``pkg.name`` when that is a module; the implicit import of a parent package is not an
edge. Run ``python -m tests.test_architecture`` to print the findings without pytest.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lexigram.monitor

PACKAGE = "lexigram.monitor"
ROOT = Path(lexigram.monitor.__file__).parent

#: Floor of every top-level module or package of lexigram.monitor (a new one must be
#: placed here). Imports may point to a lower floor only.
FLOORS: dict[str, int] = {
    # 1 foundation: contracts, configuration and helpers, importing nothing above
    "exceptions": 1,
    "protocols": 1,
    "config": 1,
    "hooks": 1,
    "defaults": 1,
    "_auth": 1,
    "_clock": 1,
    "_frozen": 1,
    "_health_result": 1,
    "_optional": 1,
    "_deadline": 1,
    "_worker": 1,
    "_failure": 1,
    "_ratelimit": 1,
    "_version": 1,
    # 2 core: instruments, spans, health checks
    "metrics": 2,
    "tracing": 2,
    "health": 2,
    "_selfmetrics": 2,
    # 3 features built on the core
    "slo": 3,
    "alerts": 3,
    "profiling": 3,
    "noop": 3,
    "service": 3,
    "instrumentation": 3,
    "logging": 3,
    "testing": 3,
    # 4-6
    "backends": 4,
    "middleware": 5,
    "di": 6,
    "cli": 6,
}
FLOOR_NAMES = {1: "foundation", 2: "core", 3: "features", 4: "backends", 5: "middleware",
               6: "wiring and command line"}  # fmt: skip
EXEMPT = frozenset({PACKAGE, f"{PACKAGE}.__main__"})

#: Above floor 1, a package imports another package of its own floor only where listed
#: here (importer, imported): the sideways dependencies of the design. Floor-1 modules
#: may import each other (the cycle check still applies).
SIDEWAYS: dict[tuple[str, str], str] = {
    ("health", "metrics"): "health checks record their duration and status metrics",
    ("_selfmetrics", "metrics"): "the library's failure counters live in the default collector",
    ("service", "noop"): "ObservabilityService falls back to the no-op tracer and collector",
    ("instrumentation", "service"): "the decorators record through ObservabilityService",
    ("slo", "alerts"): "SLO violations are dispatched as alerts",
}

#: Packages whose private modules and names (leading ``_``) no other package may import.
SEALED = ("metrics", "tracing")


@dataclass(frozen=True, slots=True)
class Edge:
    """One import: *importer* depends on *imported* (a module of the package)."""

    importer: str
    imported: str
    line: int
    names: tuple[str, ...]  # the names of ``from X import a, b``; () for ``import X``

    def where(self) -> str:
        return f"{_path_of(self.importer)}:{self.line}"


@cache
def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package ``__init__``)."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = [*PACKAGE.split("."), *path.relative_to(ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _path_of(module: str) -> str:
    return str(modules()[module][0].relative_to(ROOT.parent.parent))


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    known = modules()
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    out = [target] if target in known else []
    out += [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
    return out


@cache
def edges() -> tuple[Edge, ...]:
    """Every import between two modules of the package, anywhere in the importer."""
    found: list[Edge] = []
    for module, (path, is_package) in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    tuple(a.name for a in node.names) if isinstance(node, ast.ImportFrom) else ()
                )
                for target in _targets(module, is_package, node):
                    if target != module:
                        found.append(Edge(module, target, node.lineno, names))
    return tuple(found)


def unit_of(module: str) -> str:
    """The top-level module or package of *module* (``metrics`` for ``...metrics.gauge``)."""
    return module.split(".")[2]


def floor_of(module: str) -> int:
    return FLOORS[unit_of(module)]


def _describe(module: str) -> str:
    floor = floor_of(module)
    return f"{module} (floor {floor}, {FLOOR_NAMES[floor]})"


def layering_violations(graph: Iterable[Edge]) -> list[str]:
    """Imports that point up a floor, or sideways without a SIDEWAYS entry."""
    problems: list[str] = []
    for edge in graph:
        if edge.importer in EXEMPT or edge.imported in EXEMPT:
            continue
        src, dst = floor_of(edge.importer), floor_of(edge.imported)
        pair = (unit_of(edge.importer), unit_of(edge.imported))
        if dst > src:
            rule = "imports must point down to a lower floor"
        elif dst == src and src > 1 and pair[0] != pair[1] and pair not in SIDEWAYS:
            rule = (
                "a package imports another of its own floor only where SIDEWAYS in "
                "tests/test_architecture.py allows it (metrics and tracing never import "
                "each other nor health)"
            )
        else:
            continue
        problems.append(
            f"{_describe(edge.importer)} imports {_describe(edge.imported)} "
            f"at {edge.where()}: {rule}"
        )
    return problems


def private_imports(graph: Iterable[Edge]) -> dict[tuple[str, str], str]:
    """Imports of a sealed package's private module or name from outside it, with text."""
    found: dict[tuple[str, str], str] = {}
    for edge in graph:
        if edge.importer in EXEMPT or edge.imported in EXEMPT:
            continue
        sealed = unit_of(edge.imported)
        if sealed not in SEALED or unit_of(edge.importer) == sealed:
            continue
        modules_used = [p for p in edge.imported.split(".")[3:] if p.startswith("_")]
        names_used = sorted(n for n in edge.names if n.startswith("_"))
        if modules_used or names_used:
            what = f"the private module {edge.imported}" if modules_used else edge.imported
            if names_used:
                what = f"the private name(s) {', '.join(names_used)} of {edge.imported}"
            found[(edge.importer, edge.imported)] = (
                f"{edge.importer} imports {what} at {edge.where()}: no module outside "
                f"{sealed} may use its private modules or names (leading '_'); give "
                f"{sealed} a public handle instead"
            )
    return found


def cycles(imports: Iterable[Edge]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (iterative Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for edge in imports:
        graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(frozenset(members))
    return found


def cycle_path(members: Iterable[str]) -> str:
    """One concrete cycle through *members*, with the line of each import."""
    inside = set(members)
    start = min(inside)
    by_importer: dict[str, list[Edge]] = {}
    for edge in edges():
        if edge.importer in inside and edge.imported in inside:
            by_importer.setdefault(edge.importer, []).append(edge)
    # breadth-first search for the shortest way from start back to start
    paths: dict[str, list[Edge]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for edge in by_importer.get(node, []):
            if edge.imported == start:
                steps = [*paths[node], edge]
                return " -> ".join(f"{e.importer} ({e.where()})" for e in steps) + f" -> {start}"
            if edge.imported not in paths:
                paths[edge.imported] = [*paths[node], edge]
                queue.append(edge.imported)
    return ", ".join(sorted(inside))


def test_every_module_has_a_floor() -> None:
    """Each top-level module or package of lexigram.monitor is placed on a floor."""
    unplaced = sorted({unit_of(m) for m in modules() if m not in EXEMPT} - set(FLOORS))
    assert unplaced == [], f"place these on a floor in FLOORS: {unplaced}"


def test_imports_point_down() -> None:
    """No module imports a higher floor, or its own floor sideways unless SIDEWAYS says so."""
    problems = layering_violations(edges())
    assert problems == [], "layering violations:\n" + "\n".join(problems)


def test_no_import_cycles() -> None:
    """No set of modules imports itself round, counting imports in functions and under
    TYPE_CHECKING."""
    found = [
        f"cycle of {len(c)} modules ({', '.join(sorted(c))}); one loop: {cycle_path(c)}"
        for c in cycles(edges())
    ]
    assert found == [], "\n".join(found)


def test_metrics_and_tracing_keep_their_private_names() -> None:
    """No module outside metrics (tracing) imports a private module or name of it."""
    found = list(private_imports(edges()).values())
    assert found == [], "\n".join(found)


def test_the_module_map_names_every_module_and_floor() -> None:
    """docs/architecture.md has a line for every module and places every top-level module
    in its floor table, so the map stays the map of the tree as it is."""
    doc = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    quoted = set(re.findall(r"`([^`]+)`", doc))
    files = {path.name for path, _ in modules().values()} - {"__init__.py", "__main__.py"}
    named = {name.rsplit("/", 1)[-1] for name in quoted}
    assert sorted(files - named) == [], "give these modules a line in docs/architecture.md"
    table = doc[doc.index("## Floors") : doc.index("### Where an arrow")]
    missing = sorted(u for u in FLOORS if f"`{u}`" not in table)
    assert missing == [], f"place these in the floor table of docs/architecture.md: {missing}"


def test_the_checks_see_a_violation() -> None:
    """The checks can fail: real edges are found (also under TYPE_CHECKING), and a
    planted upward import, private import and cycle are each reported."""
    real = edges()
    pairs = {(e.importer, e.imported) for e in real}
    assert (f"{PACKAGE}.backends.factory", f"{PACKAGE}.config") in pairs
    assert (f"{PACKAGE}.metrics.collector", f"{PACKAGE}.config") in pairs  # TYPE_CHECKING
    upward = Edge(f"{PACKAGE}.config", f"{PACKAGE}.backends.factory", 1, ("make_exporter",))
    sideways = Edge(f"{PACKAGE}.metrics.collector", f"{PACKAGE}.tracing.span", 1, ("Span",))
    private = Edge(f"{PACKAGE}.backends.memory", f"{PACKAGE}.tracing.span", 1, ("_IDS",))
    planted = (*real, upward, sideways, private)
    problems = layering_violations(planted)
    assert any(p.startswith(f"{PACKAGE}.config (floor 1, foundation) imports") for p in problems)
    assert any("metrics.collector" in p and "SIDEWAYS" in p for p in problems)
    assert (private.importer, private.imported) in private_imports(planted)
    assert any({upward.importer, upward.imported} <= c for c in cycles(planted))


if __name__ == "__main__":
    pairs = {(e.importer, e.imported) for e in edges()}
    print(f"{len(modules())} modules, {len(pairs)} import edges ({len(edges())} imports)")
    for text in layering_violations(edges()):
        print("LAYER", text)
    for members in cycles(edges()):
        print("CYCLE", len(members), cycle_path(members))
    for text in private_imports(edges()).values():
        print("PRIVATE", text)
