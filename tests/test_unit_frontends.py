"""The front-end rule, read from the source: the CLI, the daemon and the Docker API parse, call a verb of
stdc.engine and format. None of them imports the records, the image store, the plugin loader or a
backend, calls a backend's hook, or reaches into the engine's records or store."""

from __future__ import annotations

import ast
from pathlib import Path

import stdc

CORE = Path(stdc.__file__).parent
FRONT_ENDS = sorted([*(CORE / "cli").glob("*.py"), *(CORE / "daemon").glob("*.py"), *(CORE / "dockerapi").glob("*.py")])

#: what a front end never imports (a backend is any stdc_* distribution)
FORBIDDEN_MODULES = ("stdc.engine.state", "stdc.state", "stdc.images.store", "stdc.discovery", "stdc_")
#: what a front end never reaches for on any object
FORBIDDEN_ATTRIBUTES = {"hook", "state", "store", "backend", "run_files", "executor"}


def _imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def test_the_front_ends_are_found():
    names = {p.name for p in FRONT_ENDS}
    assert {"container_commands.py", "interactive_commands.py", "server.py", "client.py"} <= names


def test_no_front_end_imports_engine_internals_or_a_backend():
    offences = [
        f"{path.relative_to(CORE)} imports {name}"
        for path in FRONT_ENDS
        for name in _imports(ast.parse(path.read_text()))
        if name.startswith(FORBIDDEN_MODULES) or name == "stdc.discovery"
    ]
    assert offences == []


def test_no_front_end_calls_a_hook_or_touches_records_or_store():
    offences = [
        f"{path.relative_to(CORE)}:{node.lineno} uses .{node.attr}"
        for path in FRONT_ENDS
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRIBUTES
    ]
    assert offences == []


def test_the_engine_never_prints():
    """The engine's verbs never print nor import click: they return data or yield it."""
    offences = []
    for path in sorted((CORE / "engine").glob("*.py")):
        tree = ast.parse(path.read_text())
        offences += [f"{path.name} imports click" for name in _imports(tree) if name.split(".")[0] == "click"]
        offences += [
            f"{path.name}:{node.lineno} writes to stdout"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "stdout"
        ]
        offences += [
            f"{path.name}:{node.lineno} prints"
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
        ]
    assert offences == []


def test_engine_and_cli_modules_stay_small():
    long = {
        str(path.relative_to(CORE)): n
        for path in [
            *(CORE / "engine").rglob("*.py"),
            *(CORE / "cli").rglob("*.py"),
            *(CORE / "dockerapi").rglob("*.py"),
        ]
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
