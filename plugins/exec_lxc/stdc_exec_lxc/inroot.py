"""Files of the container's root read and made from outside it, never escaping it.

LXC resolves a user by number only, and fails when the working directory is missing; the image
decides both, so they are looked up before the start, in the root filesystem mounted in the
monitor's mount namespace. Paths are resolved with openat2(RESOLVE_IN_ROOT): a symlink of the
image can never lead out to the host.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat

from stdc.errors import PayloadError, StdcError
from stdc.kit import syscalls, users, workdir

_SYS_openat2 = 437  # x86_64 and most others
_RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def open_in(root_fd: int, path: str, flags: int) -> int:
    """openat2 of ``path`` with ``root_fd`` as its ``/``."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, _RESOLVE_IN_ROOT)
    raw = path.encode()
    return syscalls.syscall(
        _SYS_openat2,
        root_fd,
        ctypes.cast(ctypes.c_char_p(raw), ctypes.c_void_p).value or 0,
        ctypes.addressof(how),
        ctypes.sizeof(how),
    )


def resolve_user(root_fd: int, spec_user: dict, env_home: bool) -> users.User:
    """``process.user`` (numbers or ``username``/``groupname``) against the image's files,
    resolved by :mod:`stdc.kit.users` with every path opened inside the root."""

    def open_inside(path: str) -> int:
        return open_in(root_fd, path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)

    return users.resolve(spec_user, env_home, open_inside)


def make_dirs(root_fd: int, path: str) -> None:
    """``mkdir -p path`` inside the root (as root, like docker's working directory)."""
    parts = [p for p in path.split("/") if p and p != "."]
    for i in range(len(parts)):
        try:
            os.close(open_in(root_fd, "/" + "/".join(parts[: i + 1]), os.O_PATH | os.O_DIRECTORY))
            continue
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise StdcError(f"working directory {path}: {e.strerror}") from None
        parent = open_in(root_fd, "/" + "/".join(parts[:i]), os.O_PATH | os.O_DIRECTORY)
        try:
            os.mkdir(parts[i], 0o755, dir_fd=parent)
        except FileExistsError:
            pass
        finally:
            os.close(parent)


def resolved_dir(root_fd: int, root: str, path: str) -> str:
    """Where the directory ``path`` really is in the container, every symlink of the image
    followed inside the root: what LXC is told to enter, so that no symlink can lead it
    elsewhere once /proc is mounted (runc CVE-2024-21626). Refused under /proc/self and alike."""
    try:
        fd = open_in(root_fd, path, os.O_PATH | os.O_DIRECTORY)
    except OSError as e:
        why = os.strerror(e.errno or 0).lower()
        raise StdcError(f"working directory {path}: {why} in the container (links followed inside its root)") from None
    try:
        real = os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)
    if real != root and not real.startswith(root.rstrip("/") + "/"):
        raise StdcError(f"working directory {path}: resolves outside the container's root")
    return workdir.check(real[len(root.rstrip("/")) :] or "/")


def check_command(root_fd: int, name: str, search: str) -> None:
    """Raise :class:`PayloadError` (127 not found, 126 not executable) unless ``name``, looked up
    in ``search`` (a PATH) inside the root, is an executable regular file."""
    candidates = [name] if "/" in name else [f"{d or '.'}/{name}" for d in search.split(":")]
    for path in candidates:
        try:
            fd = open_in(root_fd, path if path.startswith("/") else "/" + path, os.O_PATH)
        except OSError:
            continue
        try:
            mode = os.fstat(fd).st_mode
        finally:
            os.close(fd)
        if stat.S_ISREG(mode) and mode & 0o111:
            return
        if "/" in name:
            raise PayloadError(f'exec: "{name}": permission denied', 126)
    if "/" in name:
        raise PayloadError(f'exec: "{name}": no such file or directory', 127)
    raise PayloadError(f'exec: "{name}": executable file not found in $PATH', 127)
