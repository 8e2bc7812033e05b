"""The import contract of the README's architecture section, checked on the whole import graph.

Every import statement of every module counts, at the top or inside a function (a lazy
import is still a dependency), and the rules hold for what a module reaches transitively,
not only for what it names:

- core imports nothing of govmail outside itself;
- backends stand on core; index (ingestion) and search stand on core and backends;
- web stands on search, never on index; nothing imports web but the composition roots
  (govmail, the command line, and wsgi.py);
- only backends/whoosh/ imports whoosh (and, measuring Whoosh's own floor beside it, the
  benchmark bench/whoosh_floor.py and the backend's tests);
- no module imports itself through a cycle.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO

# Package -> the govmail packages its modules may reach (their own included).
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset({"core"}),
    "analysis": frozenset({"analysis"}),
    "backends": frozenset({"core", "backends", "analysis"}),
    "index": frozenset({"core", "backends", "index", "analysis"}),
    "search": frozenset({"core", "backends", "search", "analysis"}),
    "sample": frozenset({"core", "sample"}),
    "web": frozenset({"core", "backends", "search", "web", "analysis"}),
}
ROOTS = ("govmail", "wsgi")
PACKAGES = tuple(p for p in ALLOWED if (REPO / p).is_dir()) + ROOTS
# Measures Whoosh alone (its index stage per field and option), so it must import it.
WHOOSH_BENCH = REPO / "bench" / "whoosh_floor.py"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {module_name(REPO / "wsgi.py"): REPO / "wsgi.py"}
    for package in PACKAGES:
        if (REPO / package).is_dir():
            for path in sorted((REPO / package).rglob("*.py")):
                found[module_name(path)] = path
    return found


def _resolve(name: str, level: int, current: str, is_package: bool) -> str:
    if not level:
        return name
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every module this one imports, as dotted names (third-party ones included)."""
    path = modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.module or "", node.level, module, is_package)
            submodules = {f"{target}.{a.name}" for a in node.names} & modules().keys()
            # `from web import pages` depends on web.pages, not on what web/__init__ holds.
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(target)
    return frozenset(found)


def project_imports(module: str) -> set[str]:
    return {m for m in imports_of(module) if m in modules()}


def reachable(module: str) -> set[str]:
    seen: set[str] = set()
    stack = [module]
    while stack:
        for target in project_imports(stack.pop()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def package_of(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", [p for p in ALLOWED if (REPO / p).is_dir()])
def test_each_layer_reaches_only_the_layers_below_it(package: str) -> None:
    offenders = sorted(
        f"{module} reaches {target}"
        for module in modules()
        if package_of(module) == package
        for target in reachable(module)
        if package_of(target) not in ALLOWED[package]
    )
    assert offenders == []


def test_only_the_composition_roots_import_web() -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module in modules()
        if package_of(module) not in (*ROOTS, "web")
        for target in project_imports(module)
        if package_of(target) == "web"
    )
    assert offenders == []


def test_only_the_whoosh_backend_imports_whoosh() -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module in modules()
        if not module.startswith("backends.whoosh")
        for target in imports_of(module)
        if package_of(target) == "whoosh"
    )
    assert offenders == []


def test_outside_the_product_only_the_backends_tests_and_its_floor_bench_import_whoosh() -> None:
    allowed = {WHOOSH_BENCH, *(REPO / "tests" / "backends" / "whoosh").rglob("*.py")}
    offenders = []
    for folder in ("tests", "bench"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
            if any(package_of(n) == "whoosh" for n in names) and path not in allowed:
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components, iteratively: any component of two or more
    modules (or a module importing itself) is a cycle."""
    graph = {m: sorted(project_imports(m)) for m in modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if child < len(graph[node]):
                work.append((node, child + 1))
                target = graph[node][child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    assert cycles == []


def test_the_checks_see_the_code() -> None:
    # A graph that found nothing would pass every rule: make sure it holds real edges.
    assert "backends.whoosh.schema" in reachable("search.engine") | reachable("backends")
    assert "core.records" in reachable("index.writer")
    assert len(modules()) > 40
