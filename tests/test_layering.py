"""The import contract of DESIGN.md, checked by walking every module's AST.

- index may import only search.schema, core.config and core.errors from search, and never web;
- web imports search but not index;
- nothing imports web except wsgi.py and search/cli.py (the composition root, lazily);
- search imports nothing from index except in search/cli.py (lazily, inside commands).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("index", "search", "web")
ALLOWED_FROM_SEARCH_IN_INDEX = {"search", "search.schema", "core.config", "core.errors"}


def imported_modules(path: Path) -> list[tuple[str, bool]]:
    """(module, at_top_level) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top_level))
    return found


def python_files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_package_has_modules(package: str) -> None:
    assert python_files(package), f"{package}/ has no modules"


def test_index_imports_only_the_search_leaves() -> None:
    offenders = []
    for path in python_files("index"):
        for module, _ in imported_modules(path):
            root = module.split(".")[0]
            if root == "web" or (root == "search" and module not in ALLOWED_FROM_SEARCH_IN_INDEX):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def test_web_does_not_import_index() -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in python_files("web")
        for module, _ in imported_modules(path)
        if module.split(".")[0] == "index"
    ]
    assert offenders == []


def test_only_the_composition_roots_import_web() -> None:
    offenders = []
    for package in ("index", "search"):
        for path in python_files(package):
            for module, top_level in imported_modules(path):
                if module.split(".")[0] != "web":
                    continue
                if path.name == "cli.py" and package == "search" and not top_level:
                    continue
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []


def test_search_reaches_index_only_lazily_from_the_cli() -> None:
    offenders = []
    for path in python_files("search"):
        for module, top_level in imported_modules(path):
            if module.split(".")[0] == "index" and (path.name != "cli.py" or top_level):
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert offenders == []
