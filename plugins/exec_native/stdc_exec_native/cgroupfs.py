"""The container's own cgroups at ``/sys/fs/cgroup`` inside it: the spec's mount of type
``cgroup``, made as runc makes it (libcontainer's mountCgroupV1 and mountCgroupV2).

- cgroup v2: a ``cgroup2`` mount made inside the container's cgroup namespace, whose root is the
  container's cgroup (``memory.max``, ``cpu.max``, ``pids.max`` at the top); without a new cgroup
  namespace, or where the kernel refuses that mount (EPERM, EBUSY), a bind of the container's
  cgroup directory, which shows the same files.
- cgroup v1: a tmpfs, and in it each hierarchy the container has a cgroup of its own in, as a
  bind of that cgroup directory under the hierarchy's host name (``memory``, ``cpu,cpuacct``),
  plus the host's symlinks to those names (``cpu`` -> ``cpu,cpuacct``). A hierarchy where the
  container has no cgroup of its own is not shown: it would show the caller's cgroups.

Read-only (tmpfs, binds and cgroup2 alike) when the spec's options say ``ro``, which they do
unless ``--privileged``. Every destination is resolved inside the root (:mod:`stdc.kit.rootpath`).
"""

from __future__ import annotations

import contextlib
import errno
import os

from stdc.errors import StdcError
from stdc.kit import cgroups, rootpath, syscalls

#: the flags of the spec's options a cgroup mount takes (runc's defaultMountFlags and ro)
_KEPT = syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC | syscalls.MS_RELATIME


class CgroupfsPlan:
    """What the container sees at the spec's ``cgroup`` mount, worked out in the parent."""

    __slots__ = ("destination", "flags", "readonly", "unified", "cgroup2", "hierarchies", "links")

    def __init__(self, destination: str, flags: int, relative: str, dirs: list[str], new_cgroupns: bool) -> None:
        self.destination = destination
        self.flags = flags & _KEPT
        self.readonly = bool(flags & syscalls.MS_RDONLY)
        self.unified = cgroups.is_unified()
        #: v2 in a new cgroup namespace: a fresh cgroup2 mount (else the binds below)
        self.cgroup2 = self.unified and new_cgroupns
        #: (name under the destination, "" for the destination itself; the host directory to bind)
        self.hierarchies: list[tuple[str, str]] = []
        #: (name under the destination, what the symlink says)
        self.links: list[tuple[str, str]] = []
        if self.unified:
            self.hierarchies = [("", dirs[0])]
            return
        suffix = "/" + relative
        names = set()
        for directory in dirs:
            if not directory.endswith(suffix):
                raise StdcError(f"cgroup {directory}: not the container's cgroup {relative}")
            name = os.path.basename(directory[: -len(suffix)])
            names.add(name)
            self.hierarchies.append((name, directory))
        with contextlib.suppress(FileNotFoundError):
            for entry in sorted(os.listdir(cgroups.ROOT)):
                path = os.path.join(cgroups.ROOT, entry)
                target = os.path.realpath(path)
                shown = os.path.dirname(target) == cgroups.ROOT and os.path.basename(target) in names
                if shown and os.path.islink(path):
                    self.links.append((entry, os.readlink(path)))


def mount(root_fd: int, plan: CgroupfsPlan) -> None:
    """In the init, in its mount and cgroup namespaces, before pivot_root: make the mounts."""
    try:
        if plan.cgroup2:
            try:
                _mount_at(root_fd, plan.destination, "cgroup2", "cgroup2", plan.flags | _readonly(plan))
                return
            except OSError as e:
                # runc's fallback where the kernel refuses it: the bind below shows the same
                if e.errno not in (errno.EPERM, errno.EBUSY):
                    raise
        if not plan.unified:
            _mount_at(root_fd, plan.destination, "tmpfs", "tmpfs", plan.flags, "mode=755")
        for name, directory in plan.hierarchies:
            _bind_at(root_fd, os.path.join(plan.destination, name) if name else plan.destination, directory, plan)
        if plan.links:
            top = rootpath.mountpoint(root_fd, plan.destination)
            try:
                for name, target in plan.links:
                    os.symlink(target, name, dir_fd=top)
            finally:
                os.close(top)
        if plan.readonly and not plan.unified:
            _remount(root_fd, plan.destination, plan.flags | syscalls.MS_RDONLY)
    except OSError as e:
        raise StdcError(f"mounting the container's cgroups on {plan.destination}: {e.strerror}") from None


def _readonly(plan: CgroupfsPlan) -> int:
    return syscalls.MS_RDONLY if plan.readonly else 0


def _mount_at(root_fd: int, destination: str, source: str, kind: str, flags: int, data: str | None = None) -> None:
    target = rootpath.mountpoint(root_fd, destination)
    try:
        syscalls.mount(source, rootpath.proc_path(target), kind, flags, data)
    finally:
        os.close(target)


def _bind_at(root_fd: int, destination: str, directory: str, plan: CgroupfsPlan) -> None:
    """Bind the host's cgroup ``directory`` at ``destination``, then give it the plan's flags
    (a bind takes them only from a remount)."""
    target = rootpath.mountpoint(root_fd, destination)
    try:
        syscalls.mount(directory, rootpath.proc_path(target), None, syscalls.MS_BIND | syscalls.MS_REC)
    finally:
        os.close(target)
    _remount(root_fd, destination, plan.flags | _readonly(plan))


def _remount(root_fd: int, destination: str, flags: int) -> None:
    # opened anew: a descriptor from before the mount names the directory under it
    top = rootpath.mountpoint(root_fd, destination)
    try:
        syscalls.mount(None, rootpath.proc_path(top), None, syscalls.MS_REMOUNT | syscalls.MS_BIND | flags)
    finally:
        os.close(top)
