"""Mount destinations resolved inside a container's root by the kernel, never on the host.

Part of the published API for executors. Every destination of a spec (``/proc``, ``/dev``, a
device node, ``/etc/hosts``, a volume) names a path in an image that strangers made: any
component may be a symlink, to ``/``, to a host path, or to ``..``. Here each one is resolved
with ``openat2(RESOLVE_IN_ROOT)`` on a descriptor of the root — symlinks are followed as if the
root were ``/``, ``..`` stops at it, and ``/proc`` magic links are refused — missing components
are made with ``mkdirat`` on the descriptor of their (already resolved) parent, and the result
is an ``O_PATH`` descriptor: the caller mounts on ``/proc/self/fd/N``, which is that very inode,
so nothing swapped in between can redirect the mount (runc's and filepath-securejoin's way).

:func:`container_root` is where that root is: the spec's ``root.path``, checked the same way
for every executor.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from stdc.errors import StdcError
from stdc.kit import syscalls

_MAX_SYMLINKS = 40  # the kernel's MAXSYMLINKS
_RESOLVE = syscalls.RESOLVE_IN_ROOT | syscalls.RESOLVE_NO_MAGICLINKS


def container_root(spec: dict, bundle: str) -> str:
    """The container's root directory on the host: the spec's ``root.path``, relative to
    ``bundle`` unless absolute, symlinks resolved. Refuses a spec without one, and one that
    names the host's own ``/`` (:class:`StdcError`)."""
    path = (spec.get("root") or {}).get("path")
    if not path:
        raise StdcError("the spec has no root.path")
    root = os.path.realpath(os.path.join(bundle, path))
    if root == "/":
        raise StdcError("root.path may not be the host's /")
    return root


def open_in_root(root_fd: int, path: str, flags: int = os.O_PATH, *, no_symlinks: bool = False) -> int:
    """``path`` opened with ``root_fd`` as its ``/`` (raises :class:`OSError`)."""
    resolve = _RESOLVE | (syscalls.RESOLVE_NO_SYMLINKS if no_symlinks else 0)
    return syscalls.openat2(root_fd, path, flags, resolve)


def proc_path(fd: int) -> str:
    """The path that names exactly the inode of ``fd``, for mount(2) and friends."""
    return f"/proc/self/fd/{fd}"


def mountpoint(root_fd: int, destination: str, *, file: bool = False, no_symlinks: bool = False) -> int:
    """An ``O_PATH`` descriptor of ``destination`` inside the root, made when missing (a
    directory, or an empty file when ``file``); the caller closes it.

    ``no_symlinks`` refuses any symlink on the way (runc's rule for ``proc`` and ``sysfs``).
    The root itself is refused: no mount may cover the container's whole root. Raises
    :class:`StdcError` with one line.
    """
    parts = [p for p in destination.split("/") if p and p != "."]
    try:
        fd = _open_or_make(root_fd, parts, file, no_symlinks)
    except OSError as e:
        if e.errno == errno.ELOOP and no_symlinks:
            raise StdcError(
                f"mount destination {destination}: must not be a symbolic link (nor lie under one)"
            ) from None
        raise StdcError(f"mount destination {destination}: {e.strerror}") from None
    try:
        if os.path.samestat(os.fstat(fd), os.fstat(root_fd)):
            raise StdcError(f"mount destination {destination}: resolves to the container's root itself")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_or_make(root_fd: int, parts: list[str], file: bool, no_symlinks: bool, links: int = 0) -> int:
    try:
        return open_in_root(root_fd, "/" + "/".join(parts), no_symlinks=no_symlinks)
    except FileNotFoundError:
        pass
    # walk down: each existing prefix resolved from the root, each missing one made in its parent
    here = open_in_root(root_fd, "/", os.O_PATH | os.O_DIRECTORY)
    try:
        for i, part in enumerate(parts):
            prefix = "/" + "/".join(parts[: i + 1])
            try:
                below = open_in_root(root_fd, prefix, no_symlinks=no_symlinks)
            except FileNotFoundError:
                if part == "..":
                    raise
                if _is_symlink(part, here):
                    # a dangling symlink: make what it points to, inside the root
                    if links >= _MAX_SYMLINKS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP)) from None
                    target = os.readlink(part, dir_fd=here)
                    base = [] if target.startswith("/") else path_in_root(root_fd, here).split("/")
                    rest = [*base, *target.split("/"), *parts[i + 1 :]]
                    return _open_or_make(root_fd, [p for p in rest if p and p != "."], file, no_symlinks, links + 1)
                if file and i == len(parts) - 1:
                    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
                    with contextlib.suppress(FileExistsError):
                        os.close(os.open(part, flags, 0o644, dir_fd=here))
                else:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=here)
                below = open_in_root(root_fd, prefix, no_symlinks=no_symlinks)
            os.close(here)
            here = below
        return here
    except BaseException:
        os.close(here)
        raise


def _is_symlink(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except FileNotFoundError:
        return False


def path_in_root(root_fd: int, fd: int) -> str:
    """Where ``fd`` lies inside the root, as an absolute path without symlinks (``/a/b``)."""
    root = os.readlink(proc_path(root_fd))
    real = os.readlink(proc_path(fd))
    if real == root:
        return "/"
    if not real.startswith(root.rstrip("/") + "/"):
        raise StdcError(f"{real}: not inside the container's root")
    return real[len(root.rstrip("/")) :]
