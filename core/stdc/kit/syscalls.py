"""Linux system calls the standard library does not offer (Python 3.11), through ctypes.

Part of the published API: executors and storage drivers use these instead of their own.
Every wrapper raises :class:`OSError` with the real errno.
"""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

MNT_DETACH = 2

#: openat2(2) resolve flags
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
_SYS_openat2 = 437  # x86_64 and most others

#: Namespace types of the OCI runtime spec -> clone flags.
NAMESPACE_FLAGS = {
    "mount": CLONE_NEWNS,
    "pid": CLONE_NEWPID,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "network": CLONE_NEWNET,
    "cgroup": CLONE_NEWCGROUP,
    "user": CLONE_NEWUSER,
}


def _check(result: int, what: str, path: str | None = None) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return result


def _b(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    """mount(2)."""
    _check(_libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)), "mount", target)


def umount(target: str, flags: int = 0) -> None:
    """umount2(2)."""
    _check(_libc.umount2(_b(target), flags), "umount", target)


def unshare(flags: int) -> None:
    """unshare(2)."""
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    """setns(2) on an open namespace file descriptor."""
    _check(_libc.setns(fd, nstype), "setns")


def pivot_root(new_root: str, put_old: str) -> None:
    """pivot_root(2) (no libc wrapper: the raw syscall)."""
    SYS_pivot_root = 155  # x86_64
    _check(_libc.syscall(SYS_pivot_root, _b(new_root), _b(put_old)), "pivot_root", new_root)


def sethostname(name: str) -> None:
    """sethostname(2)."""
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    """setdomainname(2): the NIS domain name of the calling process's uts namespace."""
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2)."""
    return _check(
        _libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(arg4), ctypes.c_ulong(arg5)),
        "prctl",
    )


def syscall(number: int, *args: int) -> int:
    """A raw system call with integer arguments."""
    return _check(_libc.syscall(number, *[ctypes.c_long(a) for a in args]), f"syscall {number}")


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dir_fd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """openat2(2): open ``path`` relative to ``dir_fd`` under the ``RESOLVE_*`` rules; close-on-exec."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    raw = ctypes.c_char_p(path.encode())
    result = _libc.syscall(
        ctypes.c_long(_SYS_openat2), ctypes.c_long(dir_fd), raw, ctypes.byref(how), ctypes.c_long(ctypes.sizeof(how))
    )
    return _check(result, "openat2", path)


def is_mountpoint(path: str) -> bool:
    """Whether ``path`` is a mount point (by /proc/self/mountinfo, so bind mounts count too)."""
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo", "rb") as info:
        return any(line.split()[4].decode() == real for line in info)


_SYS_mount_setattr = 442  # x86_64
_AT_EMPTY_PATH = 0x1000
_AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]  # fmt: skip


def make_readonly_recursively(mount_fd: int) -> None:
    """mount_setattr(2) ``MOUNT_ATTR_RDONLY`` with ``AT_RECURSIVE`` on the mount open as
    ``mount_fd`` and every mount below it (Linux 5.12+): docker's recursive read-only bind."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    result = _libc.syscall(
        ctypes.c_long(_SYS_mount_setattr), ctypes.c_long(mount_fd), ctypes.c_char_p(b""),
        ctypes.c_long(_AT_EMPTY_PATH | _AT_RECURSIVE), ctypes.byref(attr), ctypes.c_long(ctypes.sizeof(attr)),
    )  # fmt: skip
    _check(result, "mount_setattr")
