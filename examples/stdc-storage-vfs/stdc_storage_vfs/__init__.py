"""vfs: every layer and every container a complete copy of its filesystem, like docker's vfs
driver. Slow and greedy with disk, but it needs nothing from the kernel or the filesystem beyond
a bind mount: the driver to fall back on, and the smallest complete example of one.

Layout under the driver's home (the directory stdc gives it alone)::

    layers/<chain-id hex>/        the layer's full filesystem (its parent's, with the layer applied)
    snapshots/<id>/               a container's full filesystem
    staging/                      copies in the making, never seen as layers or snapshots

Written against stdc's published API only: :data:`stdc.specs.hookimpl`,
:class:`stdc.kit.mounts.Mount` and :mod:`stdc.errors`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable

from stdc.errors import StdcError
from stdc.kit import dirs
from stdc.kit.mounts import Mount
from stdc.specs import hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


def _layer_dir(home: str, layer_id: str) -> str:
    return os.path.join(home, "layers", layer_id.split(":", 1)[-1])


def _snapshot_dir(home: str, snapshot_id: str) -> str:
    return os.path.join(home, "snapshots", snapshot_id)


def _staging(home: str) -> str:
    os.makedirs(os.path.join(home, "staging"), mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(dir=os.path.join(home, "staging"))


def _copy(source: str, target: str) -> None:
    """Copy a tree keeping everything: modes, owners, times, hardlinks, xattrs (``cp -a``)."""
    # cp -a copies the *contents* of source/. into the existing target; reflinks where the
    # filesystem has them (btrfs, xfs) make the copy nearly free
    done = subprocess.run(
        ["cp", "-a", "--reflink=auto", "--", os.path.join(source, "."), target], capture_output=True, text=True
    )
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"cp exited {done.returncode}"])[-1]
        raise StdcError(f"vfs: copying {source}: {why}")


def _remove(home: str, path: str) -> None:
    """Rename aside, then delete: a crash never leaves half a layer in place."""
    if os.path.lexists(path):
        doomed = _staging(home)
        os.rename(path, os.path.join(doomed, "x"))
        shutil.rmtree(doomed, ignore_errors=True)


@hookimpl
def storage_unusable(home: str) -> str | None:
    return None if shutil.which("cp") else "cp not found"


@hookimpl
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    final = _layer_dir(home, layer_id)
    if os.path.isdir(final):
        return
    staging = _staging(home)
    try:
        if parent_id:
            _copy(_layer_dir(home, parent_id), staging)
        else:
            os.chmod(staging, 0o755)
        apply(staging, "apply")  # stdc extracts the layer on top, carrying its deletions out
        os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
        os.rename(staging, final)  # only now is the layer visible
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@hookimpl
def storage_has_layer(home: str, layer_id: str) -> bool:
    return os.path.isdir(_layer_dir(home, layer_id))


@hookimpl
def storage_remove_layer(home: str, layer_id: str) -> None:
    _remove(home, _layer_dir(home, layer_id))


@hookimpl
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    final = _snapshot_dir(home, snapshot_id)
    if os.path.lexists(final):
        raise StdcError(f"vfs: snapshot {snapshot_id} exists")
    staging = _staging(home)
    try:
        if parent_id:
            _copy(_layer_dir(home, parent_id), staging)
        else:
            os.chmod(staging, 0o755)
        os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return storage_mounts(home, snapshot_id)


@hookimpl
def storage_mounts(home: str, snapshot_id: str) -> list:
    # the container's root is its own directory, bind-mounted: stdc mounts it, never the driver
    return [Mount("bind", _snapshot_dir(home, snapshot_id), ["rbind"])]


@hookimpl
def storage_remove(home: str, snapshot_id: str) -> None:
    _remove(home, _snapshot_dir(home, snapshot_id))


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
