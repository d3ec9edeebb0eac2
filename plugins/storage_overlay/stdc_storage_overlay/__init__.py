"""overlay: each image layer unpacked once into a directory of its own and shared read-only;
each container a writable overlayfs snapshot (upperdir + workdir) over its image's layers.

Built on :mod:`stdc.kit.layerstore`, which keeps the directories; under the driver's home::

    layers/<chain-id hex>/diff     the layer's files, deletions as overlay whiteouts
    layers/<chain-id hex>/parent   the parent layer's id (absent for a base layer)
    l/<short>  -> ../layers/<hex>/diff   short names, so that deep chains fit one mount call
    snapshots/<id>/upper, work     a container's writable layer (and its ``parent``)
    staging/                       layers being added or removed; never visible as layers
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from stdc.kit.layerstore import (  # noqa: F401 - hooks as they are
    LayerStore,
    storage_list,
    storage_orphans,
    storage_remove,
    storage_remove_orphan,
    storage_usage,
)
from stdc.kit.mounts import Mount
from stdc.specs import hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"

_SHORT = 16


def _short_link(home: str, layer_id: str) -> str:
    return os.path.join(home, "l", layer_id.split(":", 1)[-1][:_SHORT])


@hookimpl
def storage_unusable(home: str) -> str | None:
    with open("/proc/filesystems") as f:
        if not any(line.split()[-1] == "overlay" for line in f if line.strip()):
            return "kernel has no overlayfs"
    return None


@hookimpl
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    store = LayerStore(home)
    store.add_diff_layer(layer_id, parent_id, apply, "overlay")
    link = _short_link(home, layer_id)
    if not os.path.islink(link):  # also when a crash came between the layer's rename and its link
        os.makedirs(os.path.dirname(link), mode=0o700, exist_ok=True)
        made = f"{link}.{os.getpid()}"
        os.symlink(os.path.relpath(store.diff_dir(layer_id), os.path.dirname(link)), made)
        os.replace(made, link)


@hookimpl
def storage_has_layer(home: str, layer_id: str) -> bool:
    return LayerStore(home).has_layer(layer_id) and os.path.islink(_short_link(home, layer_id))


@hookimpl
def storage_remove_layer(home: str, layer_id: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_short_link(home, layer_id))
    LayerStore(home).remove_layer(layer_id)


@hookimpl
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    def writable(snapshot: str) -> None:
        os.mkdir(os.path.join(snapshot, "upper"), 0o755)
        os.mkdir(os.path.join(snapshot, "work"), 0o700)

    LayerStore(home).add_snapshot(snapshot_id, writable, parent_id=parent_id)
    return storage_mounts(home, snapshot_id)


@hookimpl
def storage_mounts(home: str, snapshot_id: str) -> list:
    store = LayerStore(home)
    snapshot = store.snapshot_dir(snapshot_id)
    lowers = [_short_link(home, layer) for layer in store.chain(store.snapshot_parent(snapshot_id))]
    if not lowers:
        empty = os.path.join(home, "empty")
        os.makedirs(empty, mode=0o755, exist_ok=True)
        lowers = [empty]
    options = [
        "lowerdir=" + ":".join(lowers),
        "upperdir=" + os.path.join(snapshot, "upper"),
        "workdir=" + os.path.join(snapshot, "work"),
    ]
    return [Mount("overlay", "overlay", options)]


@hookimpl
def storage_changes(home: str, snapshot_id: str) -> tuple[str, str] | None:
    return os.path.join(LayerStore(home).snapshot_dir(snapshot_id), "upper"), "overlay"
