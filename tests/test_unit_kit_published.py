"""The backend kit documents itself: every module of stdc.kit is listed in PUBLISHED, with a
module docstring and one on each public function and class, and the plugin author's guide (the
vfs example's README) lists the same modules. Reads source only: no root, no container."""

from __future__ import annotations

import ast
import os

import stdc.kit
from stdc.kit import PUBLISHED

KIT = os.path.dirname(stdc.kit.__file__)
GUIDE = os.path.join(os.path.dirname(KIT), "..", "..", "examples", "stdc-storage-vfs", "README.md")


def kit_modules() -> list[str]:
    return sorted(name[:-3] for name in os.listdir(KIT) if name.endswith(".py") and name != "__init__.py")


def test_every_kit_module_published() -> None:
    assert kit_modules() == sorted(PUBLISHED)


def test_every_kit_module_and_public_function_documented() -> None:
    undocumented = []
    for name in kit_modules():
        with open(os.path.join(KIT, name + ".py")) as f:
            tree = ast.parse(f.read())
        if not ast.get_docstring(tree):
            undocumented.append(name)
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.ClassDef) or node.name.startswith("_"):
                continue
            members = [m for m in node.body if isinstance(m, ast.FunctionDef)] if isinstance(node, ast.ClassDef) else []
            for item in [node, *members]:
                if not item.name.startswith("_") and not ast.get_docstring(item):
                    undocumented.append(f"{name}.{item.name}")
    assert undocumented == []


def test_guide_lists_what_a_backend_may_import() -> None:
    with open(GUIDE) as f:
        guide = f.read()
    missing = [name for name, what in PUBLISHED.items() if f"| `stdc.kit.{name}` | {what} |" not in guide]
    assert missing == []
    for allowed in ("`stdc.specs`", "`stdc.errors`", "`stdc.testing`"):
        assert allowed in guide
