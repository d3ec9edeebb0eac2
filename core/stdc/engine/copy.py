"""``stdc cp``: files and directories between a container (running or stopped) and the host.

The container's side is a stranger's filesystem: every path in it is resolved as if its root
were ``/`` (:class:`stdc.images.safepath.RootDir`: a symlink ``/etc -> /`` leads to the
container's root, never the host's), and what is copied is read or written through descriptors
opened with ``O_NOFOLLOW``. Symlinks inside what is copied are copied as symlinks. The copy is a
tar stream in between (:mod:`stdc.images.layerwriter` writes it, :func:`stdc.images.layers.apply_layer`
extracts it with no whiteouts, inside the destination directory only); without ``-a`` what is
written belongs to the caller, with it the owners are kept.

Destination rules (docker's): an existing directory receives the source under its own name;
a path that does not exist (its parent must) receives it under that name; an existing file is
overwritten by a file, never by a directory.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tempfile
from typing import IO, TYPE_CHECKING

from stdc.engine import fsview
from stdc.errors import BadInput, NotFound
from stdc.images.layers import apply_layer
from stdc.images.layerwriter import TarWriter, write_tree
from stdc.images.safepath import RootDir

if TYPE_CHECKING:
    from stdc.engine.context import Engine

_SPOOL = 16 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _parts(path: str) -> list[str]:
    """A container path as components below its root (``..`` stops at the root, as in a chroot)."""
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


def _pack(parent_fd: int, name: str, as_name: str) -> IO[bytes]:
    """A tar (in a spooled temp file, rewound) of ``name`` in ``parent_fd`` (``""``: the directory
    itself), its top entry named ``as_name``."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL, dir="/var/tmp")  # noqa: SIM115 - returned
    writer = TarWriter(spool.write, gzip=False)
    if name:
        st = os.lstat(name, dir_fd=parent_fd)
        writer.add_entry(parent_fd, name, as_name, st)
        if stat.S_ISDIR(st.st_mode):
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
            try:
                write_tree(writer, fd, prefix=as_name)
            finally:
                os.close(fd)
    else:
        writer.add_entry(parent_fd, "", as_name, os.fstat(parent_fd))
        write_tree(writer, parent_fd, prefix=as_name)
    writer.close()
    spool.seek(0)
    return spool


def _target(
    dest_parent: int, dest_name: str, source_is_dir: bool, source_name: str, shown: str, follow: bool
) -> tuple[int, str]:
    """Where the copy goes: ``(directory fd, name in it)`` by the destination rules (caller closes).

    ``follow``: whether a symlink at ``dest_name`` may be followed (on the host, not in a container)."""
    try:
        st = os.stat(dest_name, dir_fd=dest_parent, follow_symlinks=follow) if dest_name else os.fstat(dest_parent)
    except FileNotFoundError:
        return os.dup(dest_parent), dest_name
    if stat.S_ISDIR(st.st_mode):
        if dest_name:
            flags = _DIR_FLAGS if not follow else os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
            return os.open(dest_name, flags, dir_fd=dest_parent), source_name
        return os.dup(dest_parent), source_name
    if source_is_dir:
        raise BadInput(f"cannot overwrite non-directory {shown} with a directory")
    return os.dup(dest_parent), dest_name


def _unpack(archive: IO[bytes], dir_fd: int, keep_owners: bool) -> None:
    """Extract ``archive`` inside the open directory ``dir_fd`` (by its fd: no path lookup)."""
    apply_layer(archive, f"/proc/self/fd/{dir_fd}", "plain", keep_owners=keep_owners)


def copy_out(engine: Engine, ref: str, src: str, dest: str, archive: bool = False) -> None:
    """Copy ``src`` of the container ``ref`` to the host path ``dest``."""
    c = engine.state.get(ref)
    parts = _parts(src)
    dest_abs = os.path.abspath(dest)
    dest_dir, dest_name = os.path.split(dest_abs.rstrip("/") or "/")
    if dest.endswith("/") and not os.path.isdir(dest_abs):
        raise NotFound(f"{dest}: no such directory")
    if not os.path.isdir(dest_dir):
        raise NotFound(f"{dest_dir}: no such directory")
    t = fsview.target(engine, c)

    def work() -> None:
        with fsview.container_view(t) as view, RootDir(view.path) as root:
            try:
                parent = root.open_dir(parts[:-1])
            except FileNotFoundError:
                raise NotFound(f"{c.name}:{src}: no such file or directory") from None
            try:
                name = parts[-1] if parts else ""
                try:
                    st = os.lstat(name, dir_fd=parent) if name else os.fstat(parent)
                except FileNotFoundError:
                    raise NotFound(f"{c.name}:{src}: no such file or directory") from None
                is_dir = stat.S_ISDIR(st.st_mode)
                host_parent = os.open(dest_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    target_fd, target_name = _target(host_parent, dest_name, is_dir, name or "rootfs", dest, True)
                finally:
                    os.close(host_parent)
                try:
                    with _pack(parent, name, target_name) as tar:
                        _unpack(tar, target_fd, archive)
                finally:
                    os.close(target_fd)
            finally:
                os.close(parent)

    fsview.in_private_namespace(work)


def copy_in(engine: Engine, ref: str, src: str, dest: str, archive: bool = False) -> None:
    """Copy the host path ``src`` into the container ``ref`` at ``dest``."""
    c = engine.state.get(ref)
    src_abs = os.path.abspath(src)
    src_dir, src_name = os.path.split(src_abs.rstrip("/") or "/")
    try:
        host_parent = os.open(src_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFound(f"{src}: no such file or directory") from None
    try:
        try:
            st = os.lstat(src_name, dir_fd=host_parent) if src_name else os.fstat(host_parent)
        except FileNotFoundError:
            raise NotFound(f"{src}: no such file or directory") from None
        is_dir = stat.S_ISDIR(st.st_mode)
        parts = _parts(dest)
        t = fsview.target(engine, c)

        def work() -> None:
            with fsview.container_view(t) as view, RootDir(view.path) as root:
                try:
                    if dest.endswith("/") or not parts:
                        dest_parent, dest_name = root.open_dir(parts), ""
                    else:
                        dest_parent, dest_name = root.open_dir(parts[:-1]), parts[-1]
                except FileNotFoundError:
                    raise NotFound(f"{c.name}:{dest}: no such directory") from None
                try:
                    # the last component too is resolved inside the container when it is a symlink
                    if dest_name and _is_symlink(dest_parent, dest_name):
                        resolved = root.open_dir([*parts])
                        os.close(dest_parent)
                        dest_parent, dest_name = resolved, ""
                    target_fd, target_name = _target(dest_parent, dest_name, is_dir, src_name or "root", dest, False)
                except FileNotFoundError:
                    raise NotFound(f"{c.name}:{dest}: no such directory") from None
                finally:
                    os.close(dest_parent)
                try:
                    with _pack(host_parent, src_name, target_name) as tar:
                        _unpack(tar, target_fd, archive)
                finally:
                    os.close(target_fd)

        fsview.in_private_namespace(work)
    finally:
        os.close(host_parent)


def _is_symlink(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode)
    except FileNotFoundError:
        return False


def copy_out_tar(engine: Engine, ref: str, src: str, out_fd: int) -> None:
    """``cp CONTAINER:SRC -``: ``src`` of the container as a tar stream written to ``out_fd``,
    its top entry named after it (docker's)."""
    import shutil

    c = engine.state.get(ref)
    parts = _parts(src)
    t = fsview.target(engine, c)

    def work() -> bool:
        with fsview.container_view(t) as view, RootDir(view.path) as root:
            try:
                parent = root.open_dir(parts[:-1])
            except FileNotFoundError:
                raise NotFound(f"{c.name}:{src}: no such file or directory") from None
            try:
                name = parts[-1] if parts else ""
                if name and not _exists(parent, name):
                    raise NotFound(f"{c.name}:{src}: no such file or directory")
                with _pack(parent, name, name or ".") as tar, open(out_fd, "wb", closefd=False) as out:
                    shutil.copyfileobj(tar, out, 1 << 20)
            except BrokenPipeError:  # the reader went away: told the parent as such
                return False
            finally:
                os.close(parent)
        return True

    if not fsview.in_private_namespace(work):
        raise BrokenPipeError("the reader of the tar stream closed its end")


def copy_in_tar(engine: Engine, ref: str, in_fd: int, dest: str, archive: bool = False) -> None:
    """``cp - CONTAINER:DEST``: extract the tar stream read from ``in_fd`` into the container's
    directory ``dest``, which must exist (docker's); ``archive`` keeps the owners the tar names."""
    c = engine.state.get(ref)
    parts = _parts(dest)
    t = fsview.target(engine, c)

    def work() -> None:
        with fsview.container_view(t) as view, RootDir(view.path) as root:
            try:
                target_fd = root.open_dir(parts)
            except (FileNotFoundError, NotADirectoryError):
                raise NotFound(f"{c.name}:{dest}: no such directory") from None
            try:
                with open(in_fd, "rb", closefd=False) as stream:
                    _unpack(stream, target_fd, archive)
            finally:
                os.close(target_fd)

    fsview.in_private_namespace(work)


def _exists(parent: int, name: str) -> bool:
    try:
        os.lstat(name, dir_fd=parent)
    except FileNotFoundError:
        return False
    return True
