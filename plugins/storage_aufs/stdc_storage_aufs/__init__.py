"""aufs: each image layer unpacked once into a directory of its own, shared as a read-only AUFS
branch; each container a writable branch stacked on top of its image's layers.

Layout under the driver's home::

    layers/<chain-id hex>/diff     the layer's files as the tar has them (``.wh.`` whiteouts)
    layers/<chain-id hex>/parent   the parent layer's id (absent for a base layer)
    snapshots/<id>/rw              a container's writable branch
    staging/                       layers being added; never visible as layers
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
import tempfile
from collections.abc import Callable
from functools import cache

from stdc.kit import dirs
from stdc.specs import hookimpl

from stdc_storage_aufs.branches import XINO, branch_max, branch_mounts, check_depth, check_path

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


def _hex(layer_id: str) -> str:
    return layer_id.split(":", 1)[-1]


def _layer_dir(home: str, layer_id: str) -> str:
    return os.path.join(home, "layers", _hex(layer_id))


def _snapshot_dir(home: str, snapshot_id: str) -> str:
    return os.path.join(home, "snapshots", snapshot_id)


def _parent(directory: str) -> str | None:
    try:
        with open(os.path.join(directory, "parent")) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


def _branches(home: str, layer_id: str | None) -> list[str]:
    """The diff directories of a layer's chain, topmost first."""
    chain = []
    while layer_id:
        chain.append(os.path.join(_layer_dir(home, layer_id), "diff"))
        layer_id = _parent(_layer_dir(home, layer_id))
    return chain


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

    os.makedirs(os.path.join(home, "staging"), mode=0o700, exist_ok=True)
    scratch = tempfile.mkdtemp(dir=os.path.join(home, "staging"), prefix="probe-")
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
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with open(remembered + ".tmp", "w") as f:
        f.write("yes\n" if works else "no\n")
    os.replace(remembered + ".tmp", remembered)
    return works


@hookimpl
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    final = _layer_dir(home, layer_id)
    if os.path.isdir(final):
        return
    for d in ("staging", "layers"):
        os.makedirs(os.path.join(home, d), mode=0o700, exist_ok=True)
    staging = tempfile.mkdtemp(dir=os.path.join(home, "staging"))
    try:
        os.mkdir(os.path.join(staging, "diff"), 0o755)
        apply(os.path.join(staging, "diff"), "aufs")
        if parent_id:
            with open(os.path.join(staging, "parent"), "w") as f:
                f.write(parent_id)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@hookimpl
def storage_has_layer(home: str, layer_id: str) -> bool:
    return os.path.isdir(os.path.join(_layer_dir(home, layer_id), "diff"))


def _remove_tree(home: str, path: str) -> None:
    dirs.remove_tree(path, os.path.join(home, "staging"))


@hookimpl
def storage_remove_layer(home: str, layer_id: str) -> None:
    _remove_tree(home, _layer_dir(home, layer_id))


@hookimpl
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    check_depth(len(_branches(home, parent_id)), branch_max())  # before anything is made
    snap = _snapshot_dir(home, snapshot_id)
    os.makedirs(os.path.join(home, "snapshots"), mode=0o700, exist_ok=True)
    os.mkdir(snap, 0o700)
    os.mkdir(os.path.join(snap, "rw"), 0o755)
    if parent_id:
        with open(os.path.join(snap, "parent"), "w") as f:
            f.write(parent_id)
    return storage_mounts(home, snapshot_id)


@hookimpl
def storage_mounts(home: str, snapshot_id: str) -> list:
    snap = _snapshot_dir(home, snapshot_id)
    ro = _branches(home, _parent(snap))
    return branch_mounts(os.path.join(snap, "rw"), ro, dirperm1=_dirperm1(home))


@hookimpl
def storage_remove(home: str, snapshot_id: str) -> None:
    _remove_tree(home, _snapshot_dir(home, snapshot_id))


@hookimpl
def storage_changes(home: str, snapshot_id: str) -> tuple[str, str] | None:
    return os.path.join(_snapshot_dir(home, snapshot_id), "rw"), "aufs"


@hookimpl
def storage_usage(home: str, snapshot_id: str) -> int:
    top = _snapshot_dir(home, snapshot_id)
    return dirs.disk_usage(top if os.path.isdir(top) else _layer_dir(home, snapshot_id))


@hookimpl
def storage_list(home: str) -> dict[str, list[str]]:
    return {
        "layers": ["sha256:" + h for h in dirs.entries(os.path.join(home, "layers"))],
        "snapshots": dirs.entries(os.path.join(home, "snapshots")),
    }
