"""Old import paths (stdc.compat): each still gives its module, the very same object, with a
DeprecationWarning naming the new path; nothing in the tree itself uses an old path."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from stdc.compat import MOVED
from unit_import_graph import CORE, REPO, imports, python_files


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_warns_and_gives_the_same_module(old):
    new = MOVED[old]
    script = (
        "import importlib, warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    old = importlib.import_module({old!r})\n"
        f"assert old is importlib.import_module({new!r}), 'not the same module'\n"
        f"assert any(issubclass(w.category, DeprecationWarning) and {new!r} in str(w.message) for w in caught)\n"
    )
    # a fresh interpreter: in this one the module may be imported already under either name
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_nothing_in_the_tree_uses_an_old_path():
    roots = [(CORE, CORE), *((os.path.join(REPO, d), os.path.join(REPO, d)) for d in ("plugins", "examples", "tests"))]
    used = []
    for top, source_root in roots:
        for path in python_files(top):
            if path.endswith(("compat.py", "test_unit_compat.py")):
                continue
            for imported in imports(path, source_root):
                full = f"{imported.module}.{imported.name}" if imported.name not in (None, "*") else imported.module
                if imported.module in MOVED or full in MOVED:
                    used.append(str(imported))
    assert used == []
