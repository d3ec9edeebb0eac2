"""A storage driver's layers and snapshots as directories under its home: the bookkeeping every
driver that keeps them on disk shares (overlay, aufs, the vfs example) — the storage side of
containerd's snapshotter, while each driver decides what goes *into* a directory and which
mounts make a container's root of it.

Layout under the driver's home::

    layers/<chain-id hex>/     one read-only layer; ``parent`` holds its parent's id if recorded
    snapshots/<id>/            one container's writable snapshot; ``parent`` likewise
    staging/                   directories in the making or on their way out: never a layer or snapshot

A layer or snapshot is made in a fresh staging directory, filled by the driver, and renamed into
place: it is whole or not there, and a failure leaves nothing. Removing renames it into staging
first, then deletes, so a crash never leaves half of one in place.

The hooks at the end (``storage_has_layer``, ``storage_remove_layer``, ``storage_remove``,
``storage_usage``, ``storage_list``, ``storage_orphans``, ``storage_remove_orphan``) are
complete for a driver on this store that keeps nothing else per layer or snapshot: import them
into the driver's module and they are its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from stdc.errors import StdcError
from stdc.kit import dirs
from stdc.specs import hookimpl

#: the file in a layer's or snapshot's directory naming the layer below it
PARENT = "parent"
#: the directory of a union filesystem's layer holding its files (:meth:`LayerStore.add_diff_layer`)
DIFF = "diff"


class LayerStore:
    """The layers and snapshots under one driver's ``home``."""

    def __init__(self, home: str) -> None:
        self.home = home

    def layer_dir(self, layer_id: str) -> str:
        """The directory of layer ``layer_id`` (a chain id, ``sha256:<hex>``, or its hex)."""
        return os.path.join(self.home, "layers", layer_id.split(":", 1)[-1])

    def snapshot_dir(self, snapshot_id: str) -> str:
        """The directory of snapshot ``snapshot_id``."""
        return os.path.join(self.home, "snapshots", snapshot_id)

    def staging(self, prefix: str = "new") -> str:
        """A fresh private directory under ``staging/`` (the caller removes it)."""
        return dirs.fresh(os.path.join(self.home, "staging"), prefix)

    def has_layer(self, layer_id: str) -> bool:
        """Whether layer ``layer_id`` is there (renamed in, so complete)."""
        return os.path.isdir(self.layer_dir(layer_id))

    def add_layer(self, layer_id: str, fill: Callable[[str], None], *, parent_id: str | None = None) -> bool:
        """Make layer ``layer_id``: ``fill(staging_dir)`` puts its content in a fresh staging
        directory (mode 0700 until ``fill`` says otherwise), ``parent_id`` is recorded if given,
        and the directory is renamed into place. Return False, doing nothing, if it is there
        already; on any exception nothing is left and the exception goes on."""
        final = self.layer_dir(layer_id)
        if os.path.isdir(final):
            return False
        self._make(final, fill, parent_id)
        return True

    def add_diff_layer(
        self, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None], whiteouts: str
    ) -> bool:
        """Make layer ``layer_id`` as a union filesystem's drivers keep one: its parent's id
        recorded and its own files alone in ``diff/``, which the ``apply`` that
        ``storage_add_layer`` gets fills, storing deletions as ``whiteouts`` says
        (``"overlay"``, ``"aufs"``). Return False if it is there already."""

        def unpack(staging: str) -> None:
            os.mkdir(os.path.join(staging, DIFF), 0o755)
            apply(os.path.join(staging, DIFF), whiteouts)

        return self.add_layer(layer_id, unpack, parent_id=parent_id)

    def diff_dir(self, layer_id: str) -> str:
        """The ``diff/`` of a layer made by :meth:`add_diff_layer`."""
        return os.path.join(self.layer_dir(layer_id), DIFF)

    def add_snapshot(self, snapshot_id: str, fill: Callable[[str], None], *, parent_id: str | None = None) -> str:
        """Make snapshot ``snapshot_id`` as :meth:`add_layer` makes a layer, and return its
        directory; one of that id existing already is an error (:class:`StdcError`)."""
        final = self.snapshot_dir(snapshot_id)
        if os.path.lexists(final):
            raise StdcError(f"storage: snapshot {snapshot_id} exists")
        self._make(final, fill, parent_id)
        return final

    def _make(self, final: str, fill: Callable[[str], None], parent_id: str | None) -> None:
        staging = self.staging()
        try:
            fill(staging)
            if parent_id:
                with open(os.path.join(staging, PARENT), "w") as f:
                    f.write(parent_id)
            os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
            os.rename(staging, final)  # only now is it there
        except BaseException:
            dirs.remove_tree(staging, os.path.join(self.home, "staging"))
            raise

    def layer_parent(self, layer_id: str) -> str | None:
        """The id of the layer below ``layer_id``, as recorded when it was added (None: a base)."""
        return _parent(self.layer_dir(layer_id))

    def snapshot_parent(self, snapshot_id: str) -> str | None:
        """The id of the layer snapshot ``snapshot_id`` was prepared on (None: on nothing)."""
        return _parent(self.snapshot_dir(snapshot_id))

    def chain(self, layer_id: str | None) -> list[str]:
        """The ids of ``layer_id`` and every layer below it, topmost first ([] for None)."""
        found = []
        while layer_id:
            found.append(layer_id)
            layer_id = self.layer_parent(layer_id)
        return found

    def remove_layer(self, layer_id: str) -> None:
        """Remove layer ``layer_id``; gone already is fine."""
        dirs.remove_tree(self.layer_dir(layer_id), os.path.join(self.home, "staging"))

    def remove_snapshot(self, snapshot_id: str) -> None:
        """Remove snapshot ``snapshot_id``; gone already is fine."""
        dirs.remove_tree(self.snapshot_dir(snapshot_id), os.path.join(self.home, "staging"))

    def usage(self, snapshot_id: str) -> int:
        """Bytes on disk of snapshot ``snapshot_id``, or of the layer of that id if there is no
        such snapshot (what ``storage_usage`` is asked)."""
        top = self.snapshot_dir(snapshot_id)
        return dirs.disk_usage(top if os.path.isdir(top) else self.layer_dir(snapshot_id))

    def listing(self) -> dict[str, list[str]]:
        """``{"layers": [chain ids], "snapshots": [ids]}``, sorted (what ``storage_list`` returns)."""
        return {
            "layers": ["sha256:" + h for h in dirs.entries(os.path.join(self.home, "layers"))],
            "snapshots": dirs.entries(os.path.join(self.home, "snapshots")),
        }

    def orphans(self, live_ids: set[str]) -> list[str]:
        """What a crash left: ``snapshot <id>`` for each snapshot of no live container, ``staging
        <name>`` for each staging directory whose maker (the pid in its name) is gone."""
        found = [f"snapshot {sid}" for sid in self.listing()["snapshots"] if sid not in live_ids]
        for name in dirs.entries(os.path.join(self.home, "staging")):
            pid = name.split("-")[1] if name.count("-") >= 2 else ""
            if not (pid.isdigit() and os.path.exists(f"/proc/{pid}")):
                found.append(f"staging {name}")
        return found

    def remove_orphan(self, orphan: str) -> None:
        """Remove one leftover :meth:`orphans` named."""
        import shutil

        what, _, name = orphan.partition(" ")
        if "/" in name or name in ("", ".", ".."):
            raise StdcError(f"not a leftover of this store: {orphan!r}")
        if what == "snapshot":
            self.remove_snapshot(name)
        elif what == "staging":
            shutil.rmtree(os.path.join(self.home, "staging", name), ignore_errors=True)
        else:
            raise StdcError(f"not a leftover of this store: {orphan!r}")


def _parent(directory: str) -> str | None:
    try:
        with open(os.path.join(directory, PARENT)) as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


# -- hooks complete for a driver on this store: import them into the driver's module ------------


@hookimpl
def storage_has_layer(home: str, layer_id: str) -> bool:
    """Whether the layer is in the store."""
    return LayerStore(home).has_layer(layer_id)


@hookimpl
def storage_remove_layer(home: str, layer_id: str) -> None:
    """Remove the layer from the store."""
    LayerStore(home).remove_layer(layer_id)


@hookimpl
def storage_remove(home: str, snapshot_id: str) -> None:
    """Remove the snapshot from the store."""
    LayerStore(home).remove_snapshot(snapshot_id)


@hookimpl
def storage_usage(home: str, snapshot_id: str) -> int:
    """Bytes on disk of the snapshot (or layer)."""
    return LayerStore(home).usage(snapshot_id)


@hookimpl
def storage_list(home: str) -> dict[str, list[str]]:
    """The store's layers and snapshots."""
    return LayerStore(home).listing()


@hookimpl
def storage_orphans(home: str, live_ids: list[str]) -> list[str]:
    """Snapshots of no live container and staging directories of gone processes."""
    return LayerStore(home).orphans(set(live_ids))


@hookimpl
def storage_remove_orphan(home: str, orphan: str) -> None:
    """Remove one leftover :func:`storage_orphans` named."""
    LayerStore(home).remove_orphan(orphan)
