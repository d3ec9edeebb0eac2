"""No import cycles inside ``core/stdc``, and no two of its modules of one file name.

The graph is read from the source (see :mod:`unit_import_graph`): an edge for every import, at module
level or inside a function (a cycle through a function-local import still ties the two modules
together, it only fails later); ``from stdc import x`` is an edge to ``stdc.x`` when that is a
module, else to ``stdc``; ``importlib.import_module(f"stdc.cli.{area}")`` an edge to every module
of ``stdc.cli``. Importing a module also runs its parent packages' ``__init__``; those implicit
edges are left out (only what a module names counts).
"""

from __future__ import annotations

import os
from collections import defaultdict

from unit_import_graph import CORE, imports, module_name, python_files, within

STDC_FILES = python_files(os.path.join(CORE, "stdc"))
MODULES = {module_name(path, CORE): path for path in STDC_FILES}


def stdc_import_graph() -> dict[str, dict[str, str]]:
    """module -> {module it imports: where (file:line of the first such import)}."""
    graph: dict[str, dict[str, str]] = {name: {} for name in MODULES}
    for name, path in MODULES.items():
        for imported in imports(path, CORE):
            for target in _reached(imported.module, imported.name):
                if target != name and within(target, "stdc"):
                    graph[name].setdefault(target, imported.where)
    return graph


def _reached(module: str, name: str | None) -> list[str]:
    """The modules of core/stdc an import runs: the submodule named if it is one, else the module;
    for ``*`` every module directly inside it."""
    if name == "*":
        inside = [m for m in MODULES if m.rpartition(".")[0] == module]
        return inside or ([module] if module in MODULES else [])
    submodule = f"{module}.{name}" if name else module
    if submodule in MODULES:
        return [submodule]
    return [module] if module in MODULES else []


def strongly_connected(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def shortest_path(graph: dict[str, dict[str, str]], members: set[str], start: str, end: str) -> list[str]:
    """A shortest chain of imports from ``start`` to ``end`` through ``members`` only."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        if node == end:
            return paths[node]
        for successor in sorted(graph[node]):
            if successor in members and successor not in paths:
                paths[successor] = paths[node] + [successor]
                queue.append(successor)
    raise AssertionError(f"no path from {start} to {end}")  # a component connects all its modules


def describe(graph: dict[str, dict[str, str]], component: list[str]) -> str:
    """The component's modules and, for every import between two of them, a shortest cycle through
    that import (each cycle once), every step with the file and line of its import."""
    members = set(component)
    lines = [f"  {len(component)} modules: {', '.join(component)}"]
    seen: set[frozenset[tuple[str, str]]] = set()
    for module in component:
        for imported in sorted(set(graph[module]) & members):
            cycle = [module, *shortest_path(graph, members, imported, module)]
            edges = list(zip(cycle, cycle[1:], strict=False))
            if frozenset(edges) not in seen:
                seen.add(frozenset(edges))
                lines.append("    " + " -> ".join(cycle) + "  (" + ", ".join(graph[a][b] for a, b in edges) + ")")
    return "\n".join(lines)


def test_no_import_cycles():
    graph = stdc_import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, f"{len(cycles)} import cycle(s) in core/stdc:\n" + "\n".join(describe(graph, c) for c in cycles)


def test_the_cycle_finder_finds_cycles_and_only_cycles():
    graph = {
        "a": {"b": "a.py:1"},
        "b": {"c": "b.py:2", "d": "b.py:3"},
        "c": {"a": "c.py:4"},
        "d": {"e": "d.py:5"},
        "e": {},
        "f": {"g": "f.py:6"},
        "g": {"f": "g.py:7"},
    }
    assert strongly_connected(graph) == [["a", "b", "c"], ["f", "g"]]
    assert shortest_path(graph, {"a", "b", "c"}, "b", "a") == ["b", "c", "a"]
    assert describe(graph, ["a", "b", "c"]).splitlines()[1:] == ["    a -> b -> c -> a  (a.py:1, b.py:2, c.py:4)"]


def test_the_graph_sees_function_local_imports_and_submodules():
    graph = stdc_import_graph()
    assert "stdc.specs" in graph["stdc.discovery"]  # module level
    assert "stdc.specs.events" in graph["stdc.discovery"]  # importlib.import_module inside a function
    assert all(within(target, "stdc") for targets in graph.values() for target in targets)


def test_no_two_modules_share_a_file_name():
    by_name = defaultdict(list)
    for path in STDC_FILES:
        if os.path.basename(path) not in ("__init__.py", "__main__.py"):
            by_name[os.path.basename(path)].append(os.path.relpath(path, CORE))
    clashes = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    assert not clashes, "modules of one name in core/stdc:\n" + "\n".join(
        f"  {name}: {', '.join(sorted(paths))}" for name, paths in sorted(clashes.items())
    )
