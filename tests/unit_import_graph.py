"""What Python modules import, read from their source (AST): every ``import`` and ``from … import``
wherever it is (module level or inside a function), and ``importlib.import_module(…)`` with a
constant name or an f-string with a constant start (``f"stdc.cli.{area}"`` counts as importing
any module of ``stdc.cli``, like ``from stdc.cli import *``); not those under
``if TYPE_CHECKING:``, which never run.

Shared by the tests that hold the shape of the tree (import direction, import cycles).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORE = os.path.join(REPO, "core")

#: directories that hold no source of the tree (build output, metadata, caches)
_NOT_SOURCE = {"build", "__pycache__", ".venv", "dist"}


@dataclass(frozen=True)
class Imported:
    """One import in one file: ``from module import name`` (``name`` is ``None`` for ``import module``,
    ``*`` for any of the module's names or submodules)."""

    path: str
    line: int
    module: str
    name: str | None
    #: made by a call to ``importlib.import_module``
    call: bool = False

    @property
    def where(self) -> str:
        """``file:line``, relative to the repository."""
        return f"{os.path.relpath(self.path, REPO)}:{self.line}"

    def __str__(self) -> str:
        if self.call:
            statement = f"import_module({self.module + ('.…' if self.name else '')!r})"
        elif self.name is None:
            statement = f"import {self.module}"
        else:
            statement = f"from {self.module} import {self.name}"
        return f"{self.where}: {statement}"


def python_files(top: str) -> list[str]:
    """Every ``.py`` file under ``top``, build output and metadata left out, sorted."""
    found = []
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = [d for d in subdirs if d not in _NOT_SOURCE and not d.endswith(".egg-info")]
        found += [os.path.join(directory, f) for f in files if f.endswith(".py")]
    return sorted(found)


def module_name(path: str, source_root: str) -> str:
    """The dotted name of the module in ``path`` (``stdc/cli/__init__.py`` is ``stdc.cli``)."""
    parts = os.path.relpath(path, source_root)[: -len(".py")].split(os.sep)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below ``node`` except the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _absolute(module: str | None, level: int, package: str) -> str:
    if not level:
        return module or ""
    base = package.split(".")[: len(package.split(".")) - level + 1]
    return ".".join(base + ([module] if module else []))


def imports(path: str, source_root: str) -> list[Imported]:
    """Every import in the file ``path`` (a module under ``source_root``), relative ones made absolute."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    name = module_name(path, source_root)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = []
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            found += [Imported(path, node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node.module, node.level, package)
            found += [Imported(path, node.lineno, module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Call) and _called_name(node) == "import_module" and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append(Imported(path, node.lineno, argument.value, None, call=True))
            elif isinstance(argument, ast.JoinedStr) and _constant_start(argument).endswith("."):
                found.append(Imported(path, node.lineno, _constant_start(argument)[:-1], "*", call=True))
    return found


def _called_name(call: ast.Call) -> str | None:
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)


def _constant_start(text: ast.JoinedStr) -> str:
    first = text.values[0] if text.values else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""


def within(module: str, prefix: str) -> bool:
    """Whether ``module`` is ``prefix`` or inside it (``stdc.kit.mounts`` is within ``stdc.kit``)."""
    return module == prefix or module.startswith(prefix + ".")
