"""The container's filesystem, built inside its own mount namespace: propagation, the root
filesystem, the spec's mounts, /dev, pivot_root, then masked, read-only and read-only root.

Mount destinations come from images and users: each is resolved inside the root by the kernel
(:mod:`stdc.kit.rootpath`: openat2 RESOLVE_IN_ROOT, missing components made relative to their
parent's descriptor) and mounted on through ``/proc/self/fd``; proc and sysfs refuse a symlinked
destination, as runc does.
"""

from __future__ import annotations

import contextlib
import os
import stat

from stdc.errors import StdcError
from stdc.kit import rootpath, syscalls
from stdc.kit.mounts import Mount, mount_all

from stdc_exec_native import cgroupfs

_PROPAGATION = {
    "private": syscalls.MS_PRIVATE,
    "rprivate": syscalls.MS_PRIVATE | syscalls.MS_REC,
    "slave": syscalls.MS_SLAVE,
    "rslave": syscalls.MS_SLAVE | syscalls.MS_REC,
    "shared": syscalls.MS_SHARED,
    "rshared": syscalls.MS_SHARED | syscalls.MS_REC,
    "unbindable": syscalls.MS_UNBINDABLE,
    "runbindable": syscalls.MS_UNBINDABLE | syscalls.MS_REC,
}

#: option -> (flags to set, flags to clear)
_FLAGS = {
    "ro": (syscalls.MS_RDONLY, 0),
    "rw": (0, syscalls.MS_RDONLY),
    "nosuid": (syscalls.MS_NOSUID, 0),
    "suid": (0, syscalls.MS_NOSUID),
    "nodev": (syscalls.MS_NODEV, 0),
    "dev": (0, syscalls.MS_NODEV),
    "noexec": (syscalls.MS_NOEXEC, 0),
    "exec": (0, syscalls.MS_NOEXEC),
    "noatime": (syscalls.MS_NOATIME, 0),
    "atime": (0, syscalls.MS_NOATIME),
    "nodiratime": (syscalls.MS_NODIRATIME, 0),
    "diratime": (0, syscalls.MS_NODIRATIME),
    "relatime": (syscalls.MS_RELATIME, 0),
    "norelatime": (0, syscalls.MS_RELATIME),
    "strictatime": (syscalls.MS_STRICTATIME, 0),
    "nostrictatime": (0, syscalls.MS_STRICTATIME),
    "bind": (syscalls.MS_BIND, 0),
    "rbind": (syscalls.MS_BIND | syscalls.MS_REC, 0),
    "defaults": (0, 0),
}

#: per-mount flags a bind remount must repeat, or it would clear them; statvfs reports them
#: with the same bits (its ST_RELATIME is not MS_RELATIME, and relatime is the default anyway)
_KEPT_ON_REMOUNT = (
    syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC | syscalls.MS_NOATIME | syscalls.MS_NODIRATIME
)

_DEVICE_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}

#: the links runc puts in a /dev it mounted itself
_DEV_LINKS = (
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
)


class MountPlan:
    """One entry of ``spec["mounts"]``, parsed once in the parent."""

    __slots__ = ("destination", "type", "source", "flags", "propagation", "data", "bind", "cgroupfs", "rro")

    def __init__(self, entry: dict, bundle: str) -> None:
        self.destination = entry["destination"]
        if not self.destination.startswith("/"):
            raise StdcError(f"mount destination {self.destination!r}: must be absolute")
        self.type = entry.get("type") or ""
        self.source = entry.get("source") or ""
        self.flags = 0
        self.propagation = 0
        data = []
        #: "rro": read-only all the way down (runc's option; mount_setattr, Linux 5.12+)
        self.rro = False
        for option in entry.get("options") or []:
            if option == "rro":
                self.rro = True
            elif option in _FLAGS:
                on, off = _FLAGS[option]
                self.flags = (self.flags | on) & ~off
            elif option in _PROPAGATION:
                self.propagation = _PROPAGATION[option]
            else:
                data.append(option)
        self.bind = self.type == "bind" or bool(self.flags & syscalls.MS_BIND)
        if self.bind:
            self.flags |= syscalls.MS_BIND
            if not os.path.isabs(self.source):
                self.source = os.path.join(bundle, self.source)
        self.data = ",".join(data) or None
        #: a ``cgroup`` mount, once the container's cgroups are known (RootfsPlan.show_cgroups)
        self.cgroupfs: cgroupfs.CgroupfsPlan | None = None


def _remount_flags(path: str) -> int:
    return os.statvfs(path).f_flag & _KEPT_ON_REMOUNT


def _mount_one(root_fd: int, m: MountPlan) -> None:
    if m.type == "cgroup":
        if m.cgroupfs is None:
            raise StdcError(f"mount of type cgroup on {m.destination}: the container's cgroups are not known")
        cgroupfs.mount(root_fd, m.cgroupfs)
        return
    # runc's rule: proc and sysfs go on a real directory of the image, never through a symlink
    strict = m.type in ("proc", "sysfs")
    target = rootpath.mountpoint(
        root_fd, m.destination, file=m.bind and not os.path.isdir(m.source), no_symlinks=strict
    )
    try:
        if m.bind:
            syscalls.mount(m.source, rootpath.proc_path(target), None, m.flags & (syscalls.MS_BIND | syscalls.MS_REC))
        else:
            syscalls.mount(m.source, rootpath.proc_path(target), m.type, m.flags, m.data)
        extra = m.flags & ~(syscalls.MS_BIND | syscalls.MS_REC) if m.bind else 0
        if extra or m.propagation or m.rro:
            # the descriptor above names the directory under the new mount: open the mount itself
            top = rootpath.mountpoint(root_fd, m.destination, no_symlinks=strict)
            try:
                path = rootpath.proc_path(top)
                if extra:
                    flags = syscalls.MS_REMOUNT | syscalls.MS_BIND | extra | _remount_flags(path)
                    syscalls.mount(None, path, None, flags)
                if m.propagation:
                    syscalls.mount(None, path, None, m.propagation)
                if m.rro:
                    syscalls.make_readonly_recursively(top)
            finally:
                os.close(top)
    except OSError as e:
        raise StdcError(f"mounting {m.type or 'bind'} {m.source} on {m.destination}: {e.strerror}") from None
    finally:
        os.close(target)


def _make_device(root_fd: int, device: dict) -> None:
    path = device["path"]
    kind = _DEVICE_TYPES.get(device.get("type", "c"))
    if kind is None:
        raise StdcError(f"device {path}: unknown type {device.get('type')!r}")
    parent = rootpath.mountpoint(root_fd, os.path.dirname(path))
    name = os.path.basename(path)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.lstat(name, dir_fd=parent)
            return
        mode = device.get("fileMode", 0o666) & 0o7777
        try:
            # the umask is 0 here (see build), so the mode is exact
            os.mknod(name, kind | mode, os.makedev(device.get("major", 0), device.get("minor", 0)), dir_fd=parent)
        except PermissionError:
            # no CAP_MKNOD (a user namespace): bind the host's node instead, like runc
            target = rootpath.mountpoint(root_fd, path, file=True)
            try:
                syscalls.mount(path, rootpath.proc_path(target), None, syscalls.MS_BIND)
            finally:
                os.close(target)
            return
        uid, gid = device.get("uid", 0), device.get("gid", 0)
        if uid or gid:
            os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(parent)


def _dev_links(root_fd: int) -> None:
    dev = rootpath.mountpoint(root_fd, "/dev")
    links = list(_DEV_LINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("core", "/proc/kcore"))
    try:
        for name, target in links:
            with contextlib.suppress(FileExistsError):
                os.symlink(target, name, dir_fd=dev)
    finally:
        os.close(dev)


def _pivot_root(root: str) -> None:
    """pivot_root(".", ".") then detach the old root stacked on top (runc's way: no put_old
    directory needed, works on a read-only root)."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(root, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        syscalls.pivot_root(".", ".")
        os.fchdir(old)
        # the old root must not pass its unmount on to the host
        syscalls.mount(None, ".", None, syscalls.MS_SLAVE | syscalls.MS_REC)
        syscalls.umount(".", syscalls.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def _readonly(path: str) -> None:
    try:
        syscalls.mount(path, path, None, syscalls.MS_BIND | syscalls.MS_REC)
    except FileNotFoundError:
        return
    flags = syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY | _remount_flags(path)
    syscalls.mount(path, path, None, flags)


def _mask(path: str) -> None:
    try:
        directory = stat.S_ISDIR(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return
    if directory:
        syscalls.mount("tmpfs", path, "tmpfs", syscalls.MS_RDONLY)
    else:
        syscalls.mount("/dev/null", path, None, syscalls.MS_BIND)


class RootfsPlan:
    """Everything of the spec the filesystem needs, checked in the parent."""

    __slots__ = ("root", "propagation", "mounts", "devices", "dev_links", "masked", "readonly_paths", "readonly")

    def __init__(self, spec: dict, bundle: str) -> None:
        linux = spec.get("linux") or {}
        root = spec.get("root") or {}
        self.root = rootpath.container_root(spec, bundle)
        propagation = linux.get("rootfsPropagation") or "rslave"
        if propagation not in _PROPAGATION:
            raise StdcError(f"unknown rootfsPropagation {propagation!r}")
        self.propagation = _PROPAGATION[propagation]
        self.readonly = bool(root.get("readonly"))
        self.mounts = [MountPlan(m, bundle) for m in spec.get("mounts") or []]
        self.devices = list(linux.get("devices") or [])
        self.dev_links = any(m.destination == "/dev" and not m.bind for m in self.mounts)
        self.masked = list(linux.get("maskedPaths") or [])
        self.readonly_paths = list(linux.get("readonlyPaths") or [])

    def show_cgroups(self, relative: str, dirs: list[str], new_cgroupns: bool) -> None:
        """The container's cgroups are ``dirs`` (``relative`` in each hierarchy): what its
        ``cgroup`` mounts show (see :mod:`stdc_exec_native.cgroupfs`)."""
        for m in self.mounts:
            if m.type == "cgroup":
                m.cgroupfs = cgroupfs.CgroupfsPlan(m.destination, m.flags, relative, dirs, new_cgroupns)


def build(plan: RootfsPlan, rootfs_mounts: list[Mount], idmap: tuple | None = None) -> None:
    """Up to pivot_root: mount everything at ``plan.root`` and make it ``/`` (``idmap``: see
    :func:`stdc.kit.mounts.mount_all`)."""
    root = plan.root
    os.umask(0)
    # nothing mounted here may reach the host, whatever the host's propagation is
    syscalls.mount(None, "/", None, syscalls.MS_SLAVE | syscalls.MS_REC)
    syscalls.mount(None, "/", None, plan.propagation)
    try:
        if rootfs_mounts:
            mount_all(rootfs_mounts, root, idmap)
        else:
            syscalls.mount(root, root, None, syscalls.MS_BIND | syscalls.MS_REC)
    except OSError as e:
        raise StdcError(f"mounting the root filesystem on {root}: {e.strerror}") from None
    # every destination is resolved inside the root as mounted now (see stdc.kit.rootpath)
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for m in plan.mounts:
            _mount_one(root_fd, m)
        for device in plan.devices:
            _make_device(root_fd, device)
        if plan.dev_links:
            _dev_links(root_fd)
    except OSError as e:
        raise StdcError(f"creating devices: {e}") from None
    finally:
        os.close(root_fd)
    try:
        _pivot_root(root)
    except OSError as e:
        raise StdcError(f"pivot_root to {root}: {e.strerror}") from None


def finish(plan: RootfsPlan) -> None:
    """After pivot_root: read-only paths, masked paths, then the read-only root."""
    try:
        for path in plan.readonly_paths:
            _readonly(path)
        for path in plan.masked:
            _mask(path)
        if plan.readonly:
            flags = syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY | _remount_flags("/")
            syscalls.mount(None, "/", None, flags)
    except OSError as e:
        raise StdcError(f"{e.filename or 'rootfs'}: {e.strerror}") from None
