"""The shape of the code: every module imports, no module imports another that imports it back
(read from the source, function-level imports included), and no module is over ~400 lines."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("market", "web3api", "openclaw", "console")
MAX_LINES = 400
# Modules the README promises stand alone (proofs.py copied out, canonical JSON): checked on their own too.
ACYCLIC = ("market.audit", "market.canonical", "market.hashing")


def project_modules() -> dict[str, Path]:
    """Dotted name -> file, for every module outside migrations."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if "migrations" in parts or not all(part.isidentifier() for part in parts):
                continue  # migrations, and files that are not modules (gunicorn.conf.py)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, anywhere in its source (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skipped = _type_checking_only(tree)
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                candidates = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
                targets.update(next(([c] for c in candidates if c in known), []))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    targets.add(f"{base}.{alias.name}")
                elif base in known:
                    targets.add(base)
    targets.discard(name)
    return targets


def import_cycles() -> list[list[str]]:
    """Strongly connected components of more than one module in the import graph (Tarjan)."""
    known = project_modules()
    graph = {name: sorted(imported_modules(name, path, known)) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in graph:
        if name not in index:
            visit(name)
    return sorted(cycles)


def _in(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("name", sorted(project_modules()))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_the_graph_sees_a_function_level_cycle(tmp_path, monkeypatch):
    # given: two modules that import each other, one of them inside a function
    package = tmp_path / "console"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from console.b import g\n")
    (package / "b.py").write_text("def g():\n    from console import a\n")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    monkeypatch.setattr(f"{__name__}.PACKAGES", ("console",))
    # when / then
    assert import_cycles() == [["console.a", "console.b"]]


def test_no_import_cycle_through_the_audit_package_or_canonical_json():
    # when
    cycles = [c for c in import_cycles() if any(_in(m, ACYCLIC) for m in c)]
    # then
    assert cycles == []


def test_no_import_cycle_anywhere():
    assert import_cycles() == []


def test_no_module_is_over_400_lines():
    # when
    long = {
        name: n for name, path in project_modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    # then
    assert long == {}


def test_market_never_imports_web3api():
    # given
    known = project_modules()
    # when
    found = {
        name: targets
        for name, path in known.items()
        if _in(name, ("market",))
        and (targets := [t for t in imported_modules(name, path, known) if _in(t, ("web3api",))])
    }
    # then
    assert found == {}
