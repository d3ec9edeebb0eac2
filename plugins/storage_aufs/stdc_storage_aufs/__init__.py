"""aufs: each image layer unpacked once into a directory of its own, shared as a read-only AUFS
branch; each container a writable branch stacked on top of its image's layers.

Built on :mod:`stdc.kit.layerstore`, which keeps the directories; under the driver's home::

    layers/<chain-id hex>/diff     the layer's files as the tar has them (``.wh.`` whiteouts)
    layers/<chain-id hex>/parent   the parent layer's id (absent for a base layer)
    snapshots/<id>/rw              a container's writable branch (and its ``parent``)
    staging/                       layers being added or removed; never visible as layers
    dirperm1                       whether this host's aufs takes ``dirperm1`` (probed once)

AUFS reads ``.wh.NAME`` and ``.wh..wh..opq`` entries in its branches natively, so a layer tar is
extracted as it is and the writable branch *is* the container's diff (less aufs' own
``.wh..wh.plnk``/``.wh..wh.aufs``/``.wh..wh.orph``, which the core leaves out). The mount options
are :mod:`stdc_storage_aufs.branches`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from functools import cache

from stdc.kit.layerstore import (  # noqa: F401 - the store's hooks, as they are
    LayerStore,
    storage_list,
    storage_orphans,
    storage_remove,
    storage_remove_layer,
    storage_remove_orphan,
    storage_usage,
)
from stdc.specs import hookimpl

from stdc_storage_aufs.branches import XINO, branch_max, branch_mounts, check_depth, check_path

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


def _branches(home: str, layer_id: str | None) -> list[str]:
    """The diff directories of a layer's chain, topmost first."""
    store = LayerStore(home)
    return [store.diff_dir(layer) for layer in store.chain(layer_id)]


def _kernel_has_aufs() -> bool:
    with open("/proc/filesystems") as f:
        return any(line.split()[-1] == "aufs" for line in f if line.strip())


@cache
def _aufs_missing() -> bool:
    if _kernel_has_aufs():
        return False
    modprobe = shutil.which("modprobe") or next(
        (p for p in ("/usr/sbin/modprobe", "/sbin/modprobe") if os.access(p, os.X_OK)), None
    )
    if modprobe:  # as docker did: the module may be there, just not loaded yet
        subprocess.run([modprobe, "-q", "aufs"], capture_output=True, timeout=10, check=False)
    return not _kernel_has_aufs()


@hookimpl
def storage_unusable(home: str) -> str | None:
    if _aufs_missing():
        return "kernel has no aufs"
    return check_path(home)


def _dirperm1(home: str) -> bool:
    """Whether this aufs takes ``dirperm1``: tried once with a throwaway mount (as docker did),
    inside a private mount namespace, and remembered in the home directory."""
    if not _kernel_has_aufs():
        return False  # nothing to probe; remember nothing either
    remembered = os.path.join(home, "dirperm1")
    try:
        with open(remembered) as f:
            return f.read().strip() == "yes"
    except FileNotFoundError:
        pass
    from stdc.kit import privatens, syscalls

    scratch = LayerStore(home).staging("probe")
    os.mkdir(os.path.join(scratch, "base"))
    os.mkdir(os.path.join(scratch, "union"))

    def probe() -> bool:
        try:
            data = f"br:{scratch}/base,dirperm1,xino={XINO}"
            syscalls.mount("none", os.path.join(scratch, "union"), "aufs", 0, data)
        except OSError:
            return False
        return True

    try:
        works = privatens.in_private_namespace(probe)
        # written in this probe's own scratch directory: concurrent first probes (containers
        # prepared together) each rename a whole file in, never one another's half-written one
        answer = os.path.join(scratch, "dirperm1")
        with open(answer, "w") as f:
            f.write("yes\n" if works else "no\n")
        os.replace(answer, remembered)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return works


@hookimpl
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    LayerStore(home).add_diff_layer(layer_id, parent_id, apply, "aufs")


@hookimpl
def storage_has_layer(home: str, layer_id: str) -> bool:
    """Whether the layer's branch (its ``diff`` directory) is there to stack."""
    return os.path.isdir(LayerStore(home).diff_dir(layer_id))


@hookimpl
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    check_depth(len(_branches(home, parent_id)), branch_max())  # before anything is made
    LayerStore(home).add_snapshot(
        snapshot_id, lambda snapshot: os.mkdir(os.path.join(snapshot, "rw"), 0o755), parent_id=parent_id
    )
    return storage_mounts(home, snapshot_id)


@hookimpl
def storage_mounts(home: str, snapshot_id: str) -> list:
    store = LayerStore(home)
    rw = os.path.join(store.snapshot_dir(snapshot_id), "rw")
    return branch_mounts(rw, _branches(home, store.snapshot_parent(snapshot_id)), dirperm1=_dirperm1(home))


@hookimpl
def storage_changes(home: str, snapshot_id: str) -> tuple[str, str] | None:
    return os.path.join(LayerStore(home).snapshot_dir(snapshot_id), "rw"), "aufs"
