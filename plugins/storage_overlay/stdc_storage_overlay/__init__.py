"""overlay: each image layer unpacked once into a directory of its own and shared read-only;
each container a writable overlayfs snapshot (upperdir + workdir) over its image's layers.

Layout under the driver's home::

    layers/<chain-id hex>/diff     the layer's files, deletions as overlay whiteouts
    layers/<chain-id hex>/parent   the parent layer's id (absent for a base layer)
    l/<short>  -> ../layers/<hex>/diff   short names, so that deep chains fit one mount call
    snapshots/<id>/upper, work     a container's writable layer
    staging/                       layers being added; never visible as layers
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from stdc.kit import dirs
from stdc.kit.mounts import Mount
from stdc.specs import hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"

_SHORT = 16


def _hex(layer_id: str) -> str:
    return layer_id.split(":", 1)[-1]


def _layer_dir(home: str, layer_id: str) -> str:
    return os.path.join(home, "layers", _hex(layer_id))


def _short_link(home: str, layer_id: str) -> str:
    return os.path.join(home, "l", _hex(layer_id)[:_SHORT])


def _snapshot_dir(home: str, snapshot_id: str) -> str:
    return os.path.join(home, "snapshots", snapshot_id)


def _lowerdirs(home: str, layer_id: str | None) -> list[str]:
    """The chain of a layer, topmost first, by short links."""
    chain = []
    while layer_id:
        chain.append(_short_link(home, layer_id))
        try:
            with open(os.path.join(_layer_dir(home, layer_id), "parent")) as f:
                layer_id = f.read().strip() or None
        except FileNotFoundError:
            layer_id = None
    return chain


@hookimpl
def storage_unusable(home: str) -> str | None:
    with open("/proc/filesystems") as f:
        if not any(line.split()[-1] == "overlay" for line in f if line.strip()):
            return "kernel has no overlayfs"
    return None


@hookimpl
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    final = _layer_dir(home, layer_id)
    if os.path.isdir(final):
        return
    staging_root = os.path.join(home, "staging")
    for d in (staging_root, os.path.join(home, "layers"), os.path.join(home, "l")):
        os.makedirs(d, mode=0o700, exist_ok=True)
    import tempfile  # only here: tempfile loads random and hashlib, ~5 ms of every run otherwise

    staging = tempfile.mkdtemp(dir=staging_root)
    try:
        os.mkdir(os.path.join(staging, "diff"), 0o755)
        apply(os.path.join(staging, "diff"), "overlay")
        if parent_id:
            with open(os.path.join(staging, "parent"), "w") as f:
                f.write(parent_id)
        link_tmp = os.path.join(staging, "link")
        os.symlink(os.path.join("..", "layers", _hex(layer_id), "diff"), link_tmp)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.replace(os.path.join(final, "link"), _short_link(home, layer_id))


@hookimpl
def storage_has_layer(home: str, layer_id: str) -> bool:
    return os.path.isdir(_layer_dir(home, layer_id)) and os.path.islink(_short_link(home, layer_id))


@hookimpl
def storage_remove_layer(home: str, layer_id: str) -> None:
    link = _short_link(home, layer_id)
    if os.path.islink(link):
        os.unlink(link)
    _remove_tree(home, _layer_dir(home, layer_id))


def _remove_tree(home: str, path: str) -> None:
    dirs.remove_tree(path, os.path.join(home, "staging"))


@hookimpl
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    snap = _snapshot_dir(home, snapshot_id)
    os.makedirs(os.path.join(home, "snapshots"), mode=0o700, exist_ok=True)
    os.mkdir(snap, 0o700)
    os.mkdir(os.path.join(snap, "upper"), 0o755)
    os.mkdir(os.path.join(snap, "work"), 0o700)
    if parent_id:
        with open(os.path.join(snap, "parent"), "w") as f:
            f.write(parent_id)
    return storage_mounts(home, snapshot_id)


@hookimpl
def storage_mounts(home: str, snapshot_id: str) -> list:
    snap = _snapshot_dir(home, snapshot_id)
    try:
        with open(os.path.join(snap, "parent")) as f:
            parent_id: str | None = f.read().strip()
    except FileNotFoundError:
        parent_id = None
    lowers = _lowerdirs(home, parent_id)
    if not lowers:
        empty = os.path.join(home, "empty")
        os.makedirs(empty, mode=0o755, exist_ok=True)
        lowers = [empty]
    options = [
        "lowerdir=" + ":".join(lowers),
        "upperdir=" + os.path.join(snap, "upper"),
        "workdir=" + os.path.join(snap, "work"),
    ]
    return [Mount("overlay", "overlay", options)]


@hookimpl
def storage_remove(home: str, snapshot_id: str) -> None:
    _remove_tree(home, _snapshot_dir(home, snapshot_id))


@hookimpl
def storage_changes(home: str, snapshot_id: str) -> tuple[str, str] | None:
    return os.path.join(_snapshot_dir(home, snapshot_id), "upper"), "overlay"


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
