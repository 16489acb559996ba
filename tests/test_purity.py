"""The rules core and the checks are pure: no I/O, no clock, no randomness, no outer layers.

Scans the source (every import, including ones inside functions) against an allow-list of pure standard
library modules, and forbids the built-ins that do I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "caucus"
PURE_FILES = [*sorted((SRC / "rules").glob("*.py")), SRC / "checks.py"]
ALLOWED = {
    "__future__", "collections", "collections.abc", "dataclasses", "decimal", "enum", "fractions",
    "functools", "itertools", "math", "operator", "typing", "re", "caucus.rules",
}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: stays inside the same package
                continue
            found.append((node.lineno, node.module or ""))
    return found


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: p.name)
def test_core_imports_only_pure_modules(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    bad = [(line, mod) for line, mod in _imports(tree)
           if mod not in ALLOWED and not mod.startswith("caucus.rules.")]
    assert not bad, f"{path.name} imports I/O or outer layers: {bad}"


@pytest.mark.parametrize("path", PURE_FILES, ids=lambda p: p.name)
def test_core_calls_no_io_builtins(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    calls = [(n.lineno, n.func.id) for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in FORBIDDEN_CALLS]
    assert not calls, f"{path.name} calls I/O built-ins: {calls}"


def test_the_purity_scan_catches_an_impure_import(tmp_path: Path) -> None:
    impure = "import sqlite3\nfrom caucus.ledger import db\ndef f():\n    import random\n"
    mods = [m for _, m in _imports(ast.parse(impure))]
    assert [m for m in mods if m not in ALLOWED] == ["sqlite3", "caucus.ledger", "random"]
