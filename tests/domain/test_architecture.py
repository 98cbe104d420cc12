"""The modules of arenas/ import one way: no import cycle.

Every import counts, a function-local one (taken lazily to dodge a cycle at import time) and
one under `if TYPE_CHECKING:` included: a lazy import is still a cycle. Migrations are left
out (Django loads them by name)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "arenas"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name → (file, whether it is a package's __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if "migrations" in parts:
            continue
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The dotted names an import statement may load: the module and, for `from m import
    n`, `m.n` too (n may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".") if is_package else module.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join([*parts, base] if base else parts)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """Each module of arenas/ → the modules of arenas/ it imports, anywhere in its body."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        depends: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for name in _imported(module, is_package, node):
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    depends.add(name)
        graph[module] = depends
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def test_the_cycle_finder_finds_cycles_and_only_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_counts_function_local_and_relative_imports():
    graph = import_graph()
    assert "arenas.handle" in graph and "arenas.migrations" not in graph
    assert not any(name.startswith("arenas.migrations") for name in graph)
    assert {"arenas.work", "arenas.claims", "arenas.representations"} <= graph["arenas.handle"]
    # arenas/apps.py imports the webhooks' deliverer inside `ready`.
    assert "arenas.webhooks.deliverer" in graph["arenas.apps"]


def test_arenas_has_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    report = [
        f"{' ↔ '.join(component)}: "
        + "; ".join(
            f"{module} → {', '.join(sorted(graph[module] & set(component)))}"
            for module in component
        )
        for component in found
    ]
    assert not found, "Import cycles in arenas/:\n" + "\n".join(report)


def test_the_parts_call_down_only():
    """Plan, claims, requests for people (asks) and usage keep their own state and import
    none of the others, nor the wire format, the lifecycle or the handle (budgets only
    usage and asks); the event log
    imports nothing of the webhooks; the lifecycle leaves claims and requests to the
    handle."""
    graph = import_graph()
    parts = {"arenas.plan", "arenas.claims", "arenas.asks", "arenas.usage"}
    above = {
        "arenas.representations",
        "arenas.handle",
        "arenas.work",
        "arenas.manager",
        "arenas.lifecycle",
        "arenas.budgets",
    }
    for part in sorted(parts):
        assert not graph[part] & (parts | above), (part, sorted(graph[part] & (parts | above)))
    # Budgets read the usage totals and open the system's requests for people (asks).
    budgets = graph["arenas.budgets"] & (parts | above)
    assert budgets <= {"arenas.usage", "arenas.asks"}, sorted(budgets)
    assert not {m for m in graph["arenas.events"] if m.startswith("arenas.webhooks")}
    assert not graph["arenas.lifecycle"] & {"arenas.claims", "arenas.asks"}
