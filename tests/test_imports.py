"""The package's import graph, read from the source (ast), imports inside functions included.

Why: a cycle hidden by a function-level import breaks as soon as someone moves that import to the
top, and a light module (records, data, metrics) that imports one that trains drags the Keras
backend into every reader of a record.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xraylib"

# Modules that must load without the Keras backend (tests/test_backend.py checks that they do).
LIGHT = {"data", "splits", "paper", "regions", "metrics", "baseline", "shortcuts", "cv", "record",
         "ladder", "ladder_record", "ladder_tables", "wording", "protocols", "importer", "config",
         "provenance", "reproducibility", "ablation", "reserved", "overlap", "demographics",
         "stress_plan", "spread"}


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package modules it imports anywhere in its file (top level, functions,
    TYPE_CHECKING blocks)."""
    names = {p.stem for p in package.glob("*.py")}
    graph = {}
    for path in package.glob("*.py"):
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    edges.add(node.module.split(".")[0])
                else:  # from . import a, b
                    edges.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xraylib."):
                edges.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                edges.update(a.name.split(".")[1] for a in node.names if a.name.startswith("xraylib."))
        graph[path.stem] = (edges & names) - {path.stem}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_package_has_no_import_cycle():
    assert find_cycle(import_graph()) is None


def test_find_cycle_reports_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .c import g\n")
    (tmp_path / "c.py").write_text("import xraylib.a\n")
    (tmp_path / "d.py").write_text("from .a import x\n")
    assert find_cycle(import_graph(tmp_path)) == ["a", "b", "c", "a"]
    (tmp_path / "c.py").write_text("import os\n")
    assert find_cycle(import_graph(tmp_path)) is None


@pytest.mark.parametrize("module", sorted(LIGHT))
def test_a_light_module_never_imports_one_that_trains(module):
    """Not even inside a function: the light modules import only light modules."""
    graph = import_graph()
    assert module in graph, f"xraylib/{module}.py is gone: update LIGHT here and in test_backend.py"
    assert reachable(graph, module) - LIGHT == set()
