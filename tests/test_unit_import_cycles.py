"""No import cycle among the core's modules, counting imports inside functions too (a cycle that
only closes at call time is a cycle): read from the source, ``if TYPE_CHECKING:`` blocks left out."""

from __future__ import annotations

import ast
from pathlib import Path

import stdc

CORE = Path(stdc.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["stdc", *path.relative_to(CORE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports, at import or at call time."""
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from package import module`` is an edge to the module: the package's own
                # __init__ has run already, as the parent of whatever imports it
                for a in node.names:
                    sub = f"{node.module}.{a.name}"
                    targets.add(sub if sub in modules else node.module)
        if path.name == "__init__.py" and "importlib.import_module" in path.read_text():
            # a package that loads its modules by name (the CLI's areas) imports every one of them
            targets |= {m for m in modules if m.startswith(f"{name}.") and "." not in m[len(name) + 1 :]}
        edges[name] = {t for t in targets if t in modules and t != name}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_engine_and_the_front_ends():
    edges = graph()
    assert "stdc.engine.launch" in edges["stdc.engine.containers"]
    assert "stdc.daemon.protocol" in edges["stdc.daemon.server"]
    assert "stdc.cli.daemon_commands" in edges["stdc.cli"]


def test_no_import_cycle_in_the_core():
    assert _cycles(graph()) == []
