"""Storage drivers: read-only layers and the writable snapshots containers run on.

Modelled on containerd's snapshotter: a handful of verbs over named layers and snapshots that
*return mount descriptions* instead of mounting. The executor performs the mounts inside the
container's own mount namespace, so a container's root filesystem is mounted exactly for its
life and never appears on the host. Every hook gets ``home``, the directory the driver owns
alone (``<root>/storage/<name>``); a driver keeps all its files there.

Layer ids are OCI chain ids (``sha256:…`` of the layer and everything below it), so two images
sharing a base share its layers. The core owns the layer tar format: it extracts a layer into a
directory the driver gives it, storing deletions in the form the driver asks for (see
:mod:`stdc.images.layers`: ``"overlay"`` char devices 0/0 + ``trusted.overlay.opaque``,
``"aufs"`` ``.wh.`` files kept as they are, or ``"apply"``: deletions carried out).

All hooks are ``firstresult``: exactly one driver answers for a kind.
"""

from __future__ import annotations

from collections.abc import Callable

from stdc.specs import hookspec


@hookspec(firstresult=True)
def storage_unusable(home: str) -> str | None:
    """Say whether this driver can work on this host.

    Return ``None`` when it can, else a short reason shown to the user as
    ``<name>: not usable (<reason>)`` — for example ``"kernel has no aufs"``. Called before
    anything is touched; must not create or change anything.
    """


@hookspec(firstresult=True)
def storage_add_layer(home: str, layer_id: str, parent_id: str | None, apply: Callable[[str, str], None]) -> None:
    """Create the read-only layer ``layer_id`` on top of ``parent_id`` (``None`` for a base).

    The driver prepares a private staging directory (a copy of the parent for a driver that
    keeps full copies, an empty directory for a union driver) and calls
    ``apply(staging_dir, whiteout_format)`` once: the core extracts the layer tar into it,
    storing deletions in ``whiteout_format`` (``"overlay"``, ``"aufs"`` or ``"apply"``).
    Only then does the layer become visible, atomically (a rename); on an exception the staging
    directory is removed and nothing is visible. The core serialises calls for one ``layer_id``.
    """


@hookspec(firstresult=True)
def storage_has_layer(home: str, layer_id: str) -> bool:
    """Return whether the layer ``layer_id`` exists (fully added) in this driver."""


@hookspec(firstresult=True)
def storage_remove_layer(home: str, layer_id: str) -> None:
    """Remove the layer ``layer_id``. Missing layers are not an error (idempotent)."""


@hookspec(firstresult=True)
def storage_prepare(home: str, snapshot_id: str, parent_id: str | None) -> list:
    """Create the writable snapshot ``snapshot_id`` on top of layer ``parent_id``.

    Return the :class:`stdc.kit.mounts.Mount` list that, mounted in order at one target directory,
    gives the container's root filesystem. Nothing is mounted by the driver. Writes through the
    mounts land in the snapshot only: never in a layer, never in another snapshot.
    """


@hookspec(firstresult=True)
def storage_mounts(home: str, snapshot_id: str) -> list:
    """Return the mounts of an existing snapshot again (same form as :func:`storage_prepare`)."""


@hookspec(firstresult=True)
def storage_remove(home: str, snapshot_id: str) -> None:
    """Remove the writable snapshot ``snapshot_id`` and all its files (idempotent)."""


@hookspec(firstresult=True)
def storage_changes(home: str, snapshot_id: str) -> tuple[str, str] | None:
    """Offer the fast diff of a snapshot: ``(directory, whiteout_format)`` or ``None``.

    A union driver returns its writable directory as it is (overlay its upperdir, aufs its rw
    branch) and the format its deletions are stored in; the core reads changes from it directly.
    A driver without one returns ``None`` (or does not implement the hook) and the core compares
    the snapshot with its parent by walking both.
    """


@hookspec(firstresult=True)
def storage_usage(home: str, snapshot_id: str) -> int:
    """Return the bytes used by the snapshot or layer ``snapshot_id`` itself (not its parents)."""


@hookspec(firstresult=True)
def storage_list(home: str) -> dict[str, list[str]]:
    """Return ``{"layers": [...], "snapshots": [...]}``: every id this driver holds."""


@hookspec(firstresult=True)
def storage_orphans(home: str, live_ids: list[str]) -> list[str]:
    """What a crash left in ``home``: snapshots whose id is not in ``live_ids`` (the container
    ids the root's records hold) and staging directories of processes that are gone; each a
    string :func:`storage_remove_orphan` understands, shown to the user as it is. Reads only.
    Without it the core takes :func:`storage_list`'s snapshots not in ``live_ids``.

    .. versionadded:: 1.2
    """


@hookspec(firstresult=True)
def storage_remove_orphan(home: str, orphan: str) -> None:
    """Remove one leftover :func:`storage_orphans` named (idempotent).

    .. versionadded:: 1.2
    """


#: Hooks a driver may leave out; the core then falls back to its generic way.
OPTIONAL_HOOKS = ("storage_changes", "storage_usage", "storage_orphans", "storage_remove_orphan")
