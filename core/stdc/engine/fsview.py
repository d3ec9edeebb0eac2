"""A container's filesystem seen from the host, without anything ever showing on the host.

A container's root filesystem is mounted only inside its own mount namespace. To read or write
it from outside (diff, commit, export, cp), the work runs in :func:`in_private_namespace`: a
forked child that unshares its mount namespace and makes every mount in it private, so the
mounts it makes vanish with it — also when it is killed — and never reach the host. It dies
with its parent (``PR_SET_PDEATHSIG``) and hands back its result, or its error, through a pipe.

What the child needs is gathered first, in the parent (:func:`target`): the child touches the
filesystem only, never the state database. Inside it, :func:`container_view` gives the
container's filesystem — for a running container ``/proc/PID/root`` (mount points inside it,
such as ``/proc``, are reported so a walk can skip them), for a stopped one the snapshot's
mounts mounted at a private directory — and :func:`parent_view` the image's filesystem below
it: a throwaway snapshot of the same parent layer, mounted read-only. Paths inside a view are
resolved with :class:`stdc.images.safepath.RootDir` or component by component with
``O_NOFOLLOW``: a view is the container's, never trusted.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from stdc.kit import syscalls
from stdc.kit.privatens import in_private_namespace  # noqa: F401 - used by the views and re-exported

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container

_T = TypeVar("_T")
#: Throwaway snapshots are named so; a leftover of a killed process is recognisable by its pid.
VIEW_PREFIX = "view-"


@dataclass
class View:
    """A directory tree to read: ``path`` and the relative paths (mount points) to leave out."""

    path: str
    skip: set[str] = field(default_factory=set)


@dataclass
class Target:
    """What the child needs to see a container's filesystem, gathered in the parent (state
    database, plugin loading) so that the child touches nothing but the filesystem."""

    container_id: str
    pid: int | None  # the running container's init, or None when it is stopped
    storage: Any  # the storage driver's plugin manager
    home: str
    parent_layer: str | None
    scratch: str


def target(engine: Engine, c: Container) -> Target:
    """Gather, in the parent, what :func:`container_view` and :func:`parent_view` will need."""
    c = engine.refresh(c)
    name = c.backends["storage"]
    return Target(
        container_id=c.id,
        pid=c.pid if c.running and c.pid else None,
        storage=engine.backend("storage", name),
        home=engine.home("storage", name),
        parent_layer=c.config.get("snapshot_parent"),
        scratch=os.path.join(engine.root, "tmp"),
    )


def _scratch(t: Target) -> str:
    """A fresh private directory to mount on (under the root, removed after use)."""
    import tempfile

    os.makedirs(t.scratch, mode=0o700, exist_ok=True)
    return tempfile.mkdtemp(prefix="view-", dir=t.scratch)


@contextlib.contextmanager
def _mounted(mounts: list, target: str, readonly: bool) -> Iterator[None]:
    from stdc.kit.mounts import Mount, mount_all

    if readonly:
        mounts = [Mount(m.type, m.source, [*m.options, "ro"]) for m in mounts]
    mount_all(mounts, target)
    try:
        yield
    finally:
        for _ in mounts:
            with contextlib.suppress(OSError):
                syscalls.umount(target, syscalls.MNT_DETACH)


@contextlib.contextmanager
def container_view(t: Target) -> Iterator[View]:
    """The container's filesystem (call inside :func:`in_private_namespace`)."""
    if t.pid is not None:
        yield View(f"/proc/{t.pid}/root", _mount_points(t.pid))
        return
    mounts = t.storage.hook.storage_mounts(home=t.home, snapshot_id=t.container_id)
    where = _scratch(t)
    try:
        with _mounted(mounts, where, readonly=False):
            yield View(where)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(where)


@contextlib.contextmanager
def parent_view(t: Target) -> Iterator[View]:
    """The image's filesystem below the container, read-only (inside :func:`in_private_namespace`)."""
    where = _scratch(t)
    try:
        if not t.parent_layer:
            yield View(where)  # an image without layers: nothing below
            return
        _remove_stale_views(t.storage, t.home)
        snapshot = f"{VIEW_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
        try:
            mounts = t.storage.hook.storage_prepare(home=t.home, snapshot_id=snapshot, parent_id=t.parent_layer)
            with _mounted(mounts, where, readonly=True):
                yield View(where)
        finally:
            t.storage.hook.storage_remove(home=t.home, snapshot_id=snapshot)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(where)


def _remove_stale_views(storage: Any, home: str) -> None:
    """Throwaway snapshots left by a process that was killed (its pid is gone)."""
    for snapshot in storage.hook.storage_list(home=home).get("snapshots", []):
        if not snapshot.startswith(VIEW_PREFIX):
            continue
        pid = snapshot[len(VIEW_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            storage.hook.storage_remove(home=home, snapshot_id=snapshot)


def _mount_points(pid: int) -> set[str]:
    """Mount points inside a running container, relative to its root (the root itself left out)."""
    points = set()
    with open(f"/proc/{pid}/mountinfo", "rb") as f:
        for line in f:
            point = line.split()[4].decode("unicode_escape")
            rel = point.strip("/")
            if rel:
                points.add(rel)
    return points
