"""vfs: every layer and every container a complete copy of its filesystem, like docker's vfs
driver. Slow and greedy with disk, but it needs nothing from the kernel or the filesystem beyond
a bind mount: the driver to fall back on, and the smallest complete example of one.

The directories are :class:`stdc.kit.layerstore.LayerStore`'s, under the driver's home::

    layers/<chain-id hex>/        the layer's full filesystem (its parent's, with the layer applied)
    snapshots/<id>/               a container's full filesystem
    staging/                      copies in the making or on their way out

What vfs adds is what goes into them (a copy of the parent) and the mount that makes a
container's root of a snapshot; removing, listing and measuring are the store's own hooks.
Written against stdc's published API only: :mod:`stdc.specs`, :mod:`stdc.errors` and
:mod:`stdc.kit`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

from stdc.errors import StdcError
from stdc.kit.layerstore import (  # noqa: F401 - the store's hooks, taken as they are
    LayerStore,
    storage_has_layer,
    storage_list,
    storage_orphans,
    storage_remove,
    storage_remove_layer,
    storage_remove_orphan,
    storage_usage,
)
from stdc.kit.mounts import Mount
from stdc.specs import hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


def _copy_of(home: str, layer_id: str | None) -> Callable[[str], None]:
    """What fills a new directory: a copy of layer ``layer_id`` (or nothing, made 0755)."""

    def fill(target: str) -> None:
        if not layer_id:
            os.chmod(target, 0o755)
            return
        # cp -a copies the *contents* of source/. into the existing target, keeping modes,
        # owners, times, hardlinks and xattrs; reflinks (btrfs, xfs) make the copy nearly free
        source = LayerStore(home).layer_dir(layer_id)
        argv = ["cp", "-a", "--reflink=auto", "--", os.path.join(source, "."), target]
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            why = (done.stderr.strip().splitlines() or [f"cp exited {done.returncode}"])[-1]
            raise StdcError(f"vfs: copying {source}: {why}")

    return fill


@hookimpl
def storage_unusable(home: str) -> str | None:
    return None if shutil.which("cp") else "cp not found"


@hookimpl
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    def fill(staging: str) -> None:
        _copy_of(home, parent_id)(staging)
        apply(staging, "apply")  # stdc extracts the layer on top, carrying its deletions out

    LayerStore(home).add_layer(layer_id, fill)


@hookimpl
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    LayerStore(home).add_snapshot(snapshot_id, _copy_of(home, parent_id))
    return storage_mounts(home, snapshot_id)


@hookimpl
def storage_mounts(home: str, snapshot_id: str) -> list:
    # the container's root is its own directory, bind-mounted: stdc mounts it, never the driver
    return [Mount("bind", LayerStore(home).snapshot_dir(snapshot_id), ["rbind"])]
