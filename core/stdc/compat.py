"""Old import paths of modules that moved (into :mod:`stdc.kit` and :mod:`stdc.engine`, or renamed),
kept working for one release.

``import stdc.syscalls`` (or ``from stdc import syscalls``) still gives the module, now
``stdc.kit.syscalls``, with a :class:`DeprecationWarning` that names the new path. The module is
the same object under both names, so a driver written against the old path behaves exactly as
before. The table goes in the release after next; nothing in stdc itself uses the old names.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

#: old name -> new name
MOVED = {
    "stdc.syscalls": "stdc.kit.syscalls",
    "stdc.mounts": "stdc.kit.mounts",
    "stdc.child": "stdc.kit.child",
    "stdc.cgroups": "stdc.kit.cgroups",
    "stdc.devices": "stdc.kit.devices",
    "stdc.idmap": "stdc.kit.idmap",
    "stdc.rootpath": "stdc.kit.rootpath",
    "stdc.workdir": "stdc.kit.workdir",
    "stdc.users": "stdc.kit.users",
    "stdc.dirs": "stdc.kit.dirs",
    "stdc.netns": "stdc.kit.netns",
    "stdc.spec": "stdc.kit.ocispec",
    "stdc.security.capabilities": "stdc.kit.capabilities",
    "stdc.images.oci": "stdc.kit.imagespec",
    "stdc.images.refs": "stdc.kit.references",
    # the conformance suites, named apart from the contracts they test (stdc.specs.executor, ...)
    "stdc.testing.executor": "stdc.testing.executor_suite",
    "stdc.testing.storage": "stdc.testing.storage_suite",
    "stdc.plugins": "stdc.discovery",
    # the engine's modules, from when the engine was one module beside them
    "stdc.state": "stdc.engine.state",
    "stdc.monitor": "stdc.engine.monitor",
    "stdc.userns": "stdc.engine.userns",
    "stdc.resources": "stdc.engine.resources",
    "stdc.volumes": "stdc.engine.volumes",
    "stdc.copy": "stdc.engine.copy",
    "stdc.changes": "stdc.engine.changes",
    "stdc.fsview": "stdc.engine.fsview",
    "stdc.logs": "stdc.engine.logs",
    "stdc.formatting": "stdc.cli.formatting",
    "stdc.client": "stdc.daemon.client",
    "stdc.security.options": "stdc.security.settings",
    "stdc.images.changes": "stdc.images.config_changes",
}


class _Alias:
    """The loader of an old name (a plain class: importlib.abc costs ~20 ms of every start)."""

    def __init__(self, new: str) -> None:
        self.new = new

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} has moved to {self.new}; the old name goes in the next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return importlib.import_module(self.new)

    def exec_module(self, module: ModuleType) -> None:
        pass  # the module is the new one, run already


class MovedFinder:
    """Finds an old name of :data:`MOVED` and hands back the module under its new name."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        return importlib.machinery.ModuleSpec(fullname, _Alias(new)) if new else None


def install() -> None:
    """Put the finder in front of the import system, once."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())
