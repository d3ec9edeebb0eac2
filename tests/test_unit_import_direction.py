"""The direction of imports: backends use only what stdc publishes for them, the kit and the
contracts stand on their own, and the engine knows nothing of its front ends.

Read from the source (see :mod:`unit_import_graph`), function-local imports included; no root needed.
"""

from __future__ import annotations

import glob
import os

import pytest
from stdc.kit import PUBLISHED
from unit_import_graph import CORE, REPO, Imported, imports, module_name, python_files, within

#: what of stdc a backend may import
FOR_BACKENDS = ("stdc.specs", "stdc.kit", "stdc.errors", "stdc.testing")

#: every backend: the plugins and the example a third party would start from
BACKEND_DIRS = sorted(glob.glob(os.path.join(REPO, "plugins", "*"))) + [
    os.path.join(REPO, "examples", "stdc-storage-vfs")
]

#: the engine's modules, whether it is one module or a package
ENGINE_FILES = [
    path for path in python_files(os.path.join(CORE, "stdc")) if within(module_name(path, CORE), "stdc.engine")
]
#: what the engine must not import: its front ends and what only they use
FRONT_ENDS = ("stdc.cli", "stdc.daemon", "stdc.client", "click")


def _target(imported: Imported) -> str:
    """What an import reaches: ``from stdc.kit import dirs`` reaches ``stdc.kit.dirs``."""
    return imported.module if imported.name is None else f"{imported.module}.{imported.name}"


def _packages(backend_dir: str) -> set[str]:
    """The top-level packages of a backend's distribution."""
    return {
        os.path.basename(os.path.dirname(init)) for init in glob.glob(os.path.join(backend_dir, "*", "__init__.py"))
    }


ALL_BACKEND_PACKAGES = set().union(*(_packages(d) for d in BACKEND_DIRS))


def _backend_violation(imported: Imported, own: set[str]) -> str | None:
    """Why a backend may not make this import, or ``None`` when it may."""
    target = _target(imported)
    top = target.partition(".")[0]
    if top in ALL_BACKEND_PACKAGES - own:
        return "another backend"
    if top != "stdc":
        return None
    if not any(within(target, allowed) for allowed in FOR_BACKENDS):
        return f"not published for backends (only {', '.join(FOR_BACKENDS)})"
    if any(part.startswith("_") for part in target.split(".")[1:]):
        return "a private name"
    if within(target, "stdc.kit") and target != "stdc.kit" and target.split(".")[2] not in PUBLISHED:
        return "not in stdc.kit.PUBLISHED"
    return None


@pytest.mark.parametrize("backend_dir", BACKEND_DIRS, ids=os.path.basename)
def test_backends_import_only_what_stdc_publishes(backend_dir):
    own = _packages(backend_dir)
    assert own, f"no package found in {backend_dir}"
    wrong = []
    for path in python_files(backend_dir):
        for imported in imports(path, backend_dir):
            why = _backend_violation(imported, own)
            if why:
                wrong.append(f"{imported}  ({why})")
    assert not wrong, "backend imports beyond what stdc publishes:\n" + "\n".join(wrong)


def _stdc_imports(package: str, allowed: tuple[str, ...]) -> list[str]:
    """The imports of stdc modules outside ``allowed`` made by the modules of ``package``."""
    wrong = []
    for path in python_files(os.path.join(CORE, *package.split("."))):
        for imported in imports(path, CORE):
            target = _target(imported)
            if within(target, "stdc") and not any(within(target, a) for a in allowed):
                wrong.append(str(imported))
    return wrong


def test_the_kit_imports_only_the_kit_errors_and_specs():
    wrong = _stdc_imports("stdc.kit", ("stdc.kit", "stdc.errors", "stdc.specs"))
    assert not wrong, "stdc.kit reaches beyond the kit:\n" + "\n".join(wrong)


def test_the_contracts_import_nothing_of_stdc_but_errors():
    wrong = _stdc_imports("stdc.specs", ("stdc.specs", "stdc.errors"))
    assert not wrong, "stdc.specs reaches beyond the contracts:\n" + "\n".join(wrong)


def test_there_is_an_engine_to_check():
    assert ENGINE_FILES, "no stdc.engine module found under core/stdc"


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: os.path.relpath(p, CORE))
def test_the_engine_knows_nothing_of_its_front_ends(path):
    wrong = [str(i) for i in imports(path, CORE) if any(within(_target(i), f) for f in FRONT_ENDS)]
    assert not wrong, "the engine imports a front end:\n" + "\n".join(wrong)


def test_a_backend_import_of_an_engine_internal_is_caught(tmp_path):
    """The check itself: a backend module that reaches into the core is named with file and line."""
    package = tmp_path / "stdc_storage_x"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from stdc.kit import dirs\nfrom stdc.specs import hookimpl\n\n"
        "def f():\n    from stdc import state\n    from stdc.kit.mounts import _private\n"
        "    import stdc_exec_native\n    from stdc.kit import nosuch\n"
    )
    found = {
        i.line: _backend_violation(i, {"stdc_storage_x"}) for i in imports(str(package / "__init__.py"), str(tmp_path))
    }
    assert found == {
        1: None,
        2: None,
        5: "not published for backends (only stdc.specs, stdc.kit, stdc.errors, stdc.testing)",
        6: "a private name",
        7: "another backend",
        8: "not in stdc.kit.PUBLISHED",
    }
