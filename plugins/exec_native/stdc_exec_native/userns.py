"""A container in a user namespace: the native executor's part (runc's shape, in its own order).

The parent makes the user namespace with a helper (:class:`stdc.kit.idmap.UserNamespace`), which
also creates the namespaces that must be owned by it (a new network, uts and ipc namespace:
the container's root then has its capabilities there, e.g. to bind port 80). The init, still
real root, joins those, builds the whole filesystem as real root *acting as the container's
root* (files it creates are the container's; the rootfs is idmapped, see
:func:`stdc.kit.mounts.mount_all`), pivots, and only then enters the user namespace and becomes its
uid/gid 0. The mount, pid and cgroup namespaces stay owned by the host's user namespace:
the container's root can never unmount a mask or mount anything, whatever its capabilities.
"""

from __future__ import annotations

import os

from stdc.kit import idmap, syscalls

#: namespaces the helper creates owned by the user namespace: OCI type -> (clone flag, /proc name)
OWNED = {
    "network": (syscalls.CLONE_NEWNET, "net"),
    "uts": (syscalls.CLONE_NEWUTS, "uts"),
    "ipc": (syscalls.CLONE_NEWIPC, "ipc"),
}


class UsernsPlan:
    """The user namespace of a spec, checked in the parent."""

    __slots__ = ("uids", "gids", "root_ids", "owned", "holder")

    def __init__(self, mappings: tuple[list[dict], list[dict]], new: set[str]) -> None:
        self.uids, self.gids = mappings
        self.root_ids = (idmap.host_id(self.uids), idmap.host_id(self.gids))
        #: OCI types the helper creates, of those the spec wants new
        self.owned = [kind for kind in OWNED if kind in new]
        self.holder: idmap.UserNamespace | None = None

    def make(self) -> list[tuple[int, str]]:
        """In the parent: create the namespaces; returns the (clone flag, path) joins they become."""
        flags = 0
        for kind in self.owned:
            flags |= OWNED[kind][0]
        self.holder = idmap.UserNamespace(self.uids, self.gids, also=flags)
        return [(OWNED[kind][0], self.holder.path(OWNED[kind][1])) for kind in self.owned]

    def done(self) -> None:
        """In the parent, once the init has joined (or failed): let the helper go."""
        if self.holder is not None:
            self.holder.close()
            self.holder = None

    def open_user(self) -> int:
        """In the init, before it joins anything: the user namespace, to enter at the end."""
        assert self.holder is not None
        return os.open(self.holder.path("user"), os.O_RDONLY | os.O_CLOEXEC)

    def idmap(self, userns_fd: int) -> tuple[int, tuple[int, int]]:
        """The ``idmap`` argument of :func:`stdc.kit.mounts.mount_all`."""
        return userns_fd, self.root_ids


def become_root(userns_fd: int) -> None:
    """In the init, after pivot_root: enter the user namespace as its uid and gid 0 (the whole
    capability set of the namespace; the spec's sets are applied after, as without one)."""
    syscalls.setns(userns_fd, syscalls.CLONE_NEWUSER)
    os.close(userns_fd)
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
