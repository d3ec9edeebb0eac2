"""A container in a user namespace, the lxc executor's part: LXC makes the user namespace
itself from ``lxc.idmap`` (see :func:`stdc_exec_lxc.translate.idmap_items`); the monitor mounts
the root filesystem idmapped with the same mapping, so that the image's files are owned by the
container's root inside and what it writes lands on disk with its own ids."""

from __future__ import annotations

import contextlib
import os

from stdc.kit import idmap
from stdc.kit.mounts import Mount

from stdc_exec_lxc.translate import Plan


def idmapped_rootfs(plan: Plan, rootfs_mounts: list[Mount]) -> None:
    """In the monitor's own mount namespace: mount ``rootfs_mounts`` at ``plan.root`` idmapped by a
    user namespace of the spec's mapping (a helper's, gone once the mount is made: the mapping
    is what the mount keeps), on a path the container's root can walk.

    liblxc works from inside the new user namespace on the container path and the rootfs, which
    lie in stdc's root (root's alone: 0700). In this mount namespace only, the topmost such
    directory is covered by a tmpfs whose directories anyone may search, and the bundle is
    rebuilt in it from bind mounts of its parts: the container's lxc directory, its other
    files (mount sources), and the idmapped rootfs.
    """
    from stdc.kit import syscalls

    assert plan.idmap is not None
    uids, gids = plan.idmap
    root_ids = (idmap.host_id(uids), idmap.host_id(gids))
    bundle = os.path.dirname(plan.lxcpath)
    top = _first_closed(bundle)
    keep: list[tuple[str, int, bool]] = []
    with idmap.UserNamespace(uids, gids) as ns:
        tree = idmap.idmapped_tree(rootfs_mounts, ns.fd, root_ids)  # while the layers are in sight
    if top is not None:
        own = os.path.join(plan.lxcpath, plan.name)
        parts = [own] + [os.path.join(bundle, n) for n in os.listdir(bundle) if n not in ("lxc", "rootfs")]
        for path in parts:
            keep.append((path, os.open(path, os.O_PATH | os.O_CLOEXEC), os.path.isdir(path)))
        syscalls.mount("tmpfs", top, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "mode=0711,size=1m")
        os.makedirs(plan.root, 0o711)
        for path, fd, directory in keep:
            if directory:
                os.makedirs(path, 0o711, exist_ok=True)
            else:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            syscalls.mount(f"/proc/self/fd/{fd}", path, None, syscalls.MS_BIND | syscalls.MS_REC)
            os.close(fd)
    try:
        idmap.move_mount(tree, plan.root)
    finally:
        os.close(tree)


def _first_closed(path: str) -> str | None:
    """The topmost directory down to ``path`` that others may not search, or None."""
    import stat

    parts = path.strip("/").split("/")
    for i in range(len(parts) + 1):
        here = "/" + "/".join(parts[:i])
        if not os.stat(here).st_mode & stat.S_IXOTH:
            return here
    return None


def without_shadow_helpers() -> None:
    """In the monitor: hide newuidmap/newgidmap from liblxc, which, when it finds them, writes
    the mapping through them and so insists that root's ranges be reserved in /etc/subuid. The
    ranges are stdc's to give (see stdc.userns); real root writes the maps itself, as with runc."""
    kept = [
        d
        for d in os.environ.get("PATH", "").split(":")
        if d and not any(os.path.exists(os.path.join(d, name)) for name in ("newuidmap", "newgidmap"))
    ]
    os.environ["PATH"] = ":".join(kept) or "/nonexistent"


def acting_as_root(plan: Plan) -> contextlib.AbstractContextManager:
    """Around what the monitor makes inside the root (the working directory, mount points): as
    the container's root, whose files they are. On an idmapped root, real root is not mapped
    and may create nothing (EOVERFLOW)."""
    if plan.idmap is None:
        return contextlib.nullcontext()
    uids, gids = plan.idmap
    return idmap.act_as(idmap.host_id(uids), idmap.host_id(gids))


def reachable_sources(plan: Plan) -> None:
    """Under a user namespace liblxc makes the mount entries from inside it, where a bind source
    below a directory only root may enter (a 0700 host path) is out of reach. In the monitor's
    own mount namespace each such source is bound onto a place in the container's config dir,
    on a tmpfs anyone may search, and LXC is given that place instead."""
    from stdc.kit import syscalls

    binds = os.path.join(plan.lxcpath, plan.name, "binds")
    entries = []
    for i, (source, destination, rest, as_file) in enumerate(plan.mount_entries):
        if plan.idmap is not None and rest.startswith("none ") and os.path.isabs(source):
            if not os.path.ismount(binds):
                os.makedirs(binds, mode=0o700, exist_ok=True)
                syscalls.mount("tmpfs", binds, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV, "mode=0711,size=64k")
            place = os.path.join(binds, str(i))
            if as_file:
                os.close(os.open(place, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            else:
                os.mkdir(place, 0o711)
            syscalls.mount(source, place, None, syscalls.MS_BIND | syscalls.MS_REC)
            source = place
        entries.append((source, destination, rest, as_file))
    plan.mount_entries = entries
