"""Writing layer tars: the other half of :mod:`stdc.images.layers` (which extracts them).

A :class:`TarWriter` turns directory entries, read through open directory descriptors (never a
path a symlink could redirect), into a PAX tar — gzip-compressed or plain — while computing its
diff_id. Three ways to feed it:

- :func:`write_tree` — everything below a directory (``export``, ``cp``), optionally in a
  union driver's writable form, converting its deletions to OCI whiteouts: ``"overlay"``
  (a 0/0 character device becomes ``.wh.NAME``; ``trusted.overlay.opaque=y`` becomes
  ``.wh..wh..opq``) or ``"aufs"`` (the ``.wh.`` files are already there; aufs' own
  ``.wh..wh.*`` bookkeeping is left out).
- :func:`write_changes` — the entries a generic diff found (``A``/``C`` paths read from the new
  view, ``D`` paths written as ``.wh.`` entries).

What an entry keeps: type, mode (setuid too), numeric owner, mtime (whole seconds, as docker
writes layers), symlink target, hardlinks (a second name of an inode already written becomes a
hardlink entry), xattrs (``user.*``, ``security.*``, ``trusted.*`` but ``trusted.overlay.*``,
POSIX ACLs) as ``SCHILY.xattr.*``. Sockets are left out; device nodes are written (an
extractor decides what to do with them).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator

from stdc.images.layers import OVERLAY_OPAQUE_XATTR, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX

_FLUSH = 1 << 20
_XATTR_KEPT = ("user.", "security.", "trusted.", "system.posix_acl_")
_XATTR_DROPPED = ("trusted.overlay.",)
_NO_XATTRS = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENODATA, errno.EPERM)
_BLOCK = tarfile.BLOCKSIZE
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class TarWriter:
    """A tar stream written to ``sink`` (gzip-compressed when ``gzip``), hashed as it goes.

    :meth:`close` writes the end-of-archive marker and returns the diff_id (sha256 of the
    uncompressed tar). ``skip`` holds paths (relative, no leading ``/``) left out with all
    below them — mount points of a running container, for instance.
    """

    def __init__(self, sink: Callable[[bytes], object], gzip: bool = True, level: int = 1) -> None:
        self._sink = sink
        self._z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if gzip else None
        self._hash = hashlib.sha256()
        self._buf = bytearray()
        self._inodes: dict[tuple[int, int], str] = {}
        self.entries = 0
        self.skip: set[str] = set()

    # -- low level ------------------------------------------------------------------------------

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data
        if len(self._buf) >= _FLUSH:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        data = bytes(self._buf)
        self._buf.clear()
        self._hash.update(data)
        self._sink(self._z.compress(data) if self._z else data)

    def close(self) -> str:
        """End the archive; return its diff_id."""
        self._write(b"\0" * (2 * _BLOCK))
        self._flush()
        if self._z:
            self._sink(self._z.flush())
        return "sha256:" + self._hash.hexdigest()

    def add(self, info: tarfile.TarInfo, data_fd: int = -1) -> None:
        """Write one entry; a regular file's ``info.size`` bytes are read from ``data_fd``."""
        self._write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        self.entries += 1
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or not info.size:
            return
        left = info.size
        while left:
            chunk = os.read(data_fd, min(left, _FLUSH))
            if not chunk:  # the file shrank while we read it: pad, as tar does
                self._write(b"\0" * left)
                break
            self._write(chunk)
            left -= len(chunk)
        if info.size % _BLOCK:
            self._write(b"\0" * (_BLOCK - info.size % _BLOCK))

    # -- entries from the filesystem ------------------------------------------------------------

    def add_entry(self, parent: int, name: str, path: str, st: os.stat_result | None = None) -> bool:
        """Write the file ``name`` of the open directory ``parent`` as ``path``; False if left out."""
        if st is None:
            st = os.lstat(name, dir_fd=parent)
        info = tarfile.TarInfo(path)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        info.mtime = st.st_mtime_ns // 1_000_000_000
        fmt = stat.S_IFMT(st.st_mode)
        fd = -1
        try:
            if fmt == stat.S_IFREG:
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in self._inodes:
                    info.type, info.linkname = tarfile.LNKTYPE, self._inodes[key]
                else:
                    if st.st_nlink > 1:
                        self._inodes[key] = path
                    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
                    info.type, info.size = tarfile.REGTYPE, st.st_size
            elif fmt == stat.S_IFDIR:
                info.type = tarfile.DIRTYPE
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent) if name else os.dup(parent)
            elif fmt == stat.S_IFLNK:
                info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=parent)
            elif fmt == stat.S_IFIFO:
                info.type = tarfile.FIFOTYPE
            elif fmt in (stat.S_IFCHR, stat.S_IFBLK):
                info.type = tarfile.CHRTYPE if fmt == stat.S_IFCHR else tarfile.BLKTYPE
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            else:
                return False  # sockets
            info.pax_headers = _xattr_headers(fd if fd >= 0 else f"/proc/self/fd/{parent}/{name}")
            self.add(info, fd)
        finally:
            if fd >= 0:
                os.close(fd)
        return True

    def add_whiteout(self, path: str) -> None:
        """Write the deletion of ``path`` (``dir/.wh.NAME``)."""
        head, _, name = path.rpartition("/")
        info = tarfile.TarInfo(f"{head}/{WHITEOUT_PREFIX}{name}" if head else WHITEOUT_PREFIX + name)
        info.mode, info.uname, info.gname = 0o600, "", ""
        self.add(info)

    def add_opaque(self, dir_path: str) -> None:
        """Mark the directory ``dir_path`` opaque (``dir/.wh..wh..opq``)."""
        info = tarfile.TarInfo(f"{dir_path}/{WHITEOUT_OPAQUE}" if dir_path else WHITEOUT_OPAQUE)
        info.mode, info.uname, info.gname = 0o600, "", ""
        self.add(info)


def write_tree(writer: TarWriter, dir_fd: int, whiteouts: str | None = None, prefix: str = "") -> None:
    """Write everything below the open directory ``dir_fd`` (not the directory itself), sorted,
    each directory's subtree right after its own entry.

    ``whiteouts``: ``None`` (files as they are), ``"overlay"`` or ``"aufs"`` (a union driver's
    writable layer: its deletions become OCI whiteouts). ``prefix`` is prepended to every name.
    One directory fd is open per level (an explicit stack: no recursion limit on depth).
    """
    stack: list[tuple[int, str, Iterator[os.DirEntry[str]]]] = []
    try:
        fd = os.dup(dir_fd)
        stack.append((fd, prefix, _sorted_entries(fd)))
        while stack:
            fd, base, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                os.close(stack.pop()[0])
                continue
            name = entry.name
            path = f"{base}/{name}" if base else name
            if path in writer.skip:
                continue
            st = entry.stat(follow_symlinks=False)
            if whiteouts == "overlay" and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                writer.add_whiteout(path)
                continue
            if whiteouts == "aufs" and name.startswith(WHITEOUT_META_PREFIX) and name != WHITEOUT_OPAQUE:
                continue
            writer.add_entry(fd, name, path, st)
            if stat.S_ISDIR(st.st_mode):
                sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                try:
                    if whiteouts == "overlay" and _is_opaque(sub):
                        writer.add_opaque(path)
                    stack.append((sub, path, _sorted_entries(sub)))
                except BaseException:
                    os.close(sub)
                    raise
    finally:
        for fd, _base, _entries in stack:
            os.close(fd)


def _sorted_entries(fd: int) -> Iterator[os.DirEntry[str]]:
    with os.scandir(fd) as it:
        return iter(sorted(it, key=lambda e: e.name))


def write_changes(writer: TarWriter, root_fd: int, changes: Iterable[tuple[str, str]]) -> None:
    """Write the changes a generic diff found, sorted by path (parents first): ``("A"|"C", path)``
    entries are read from the new view open at ``root_fd``; ``("D", path)`` become whiteouts."""
    parent_key, parent_fd = None, -1
    try:
        for kind, path in changes:
            if kind == "D":
                writer.add_whiteout(path)
                continue
            head, _, name = path.rpartition("/")
            if head != parent_key:
                if parent_fd >= 0:
                    os.close(parent_fd)
                parent_fd, parent_key = -1, None
                parent_fd = _open_below(root_fd, head)
                parent_key = head
            writer.add_entry(parent_fd, name, path)
    finally:
        if parent_fd >= 0:
            os.close(parent_fd)


def _open_below(root_fd: int, path: str) -> int:
    """Open the directory ``path`` below ``root_fd`` component by component, following no symlink."""
    fd = os.dup(root_fd)
    for part in path.split("/") if path else []:
        try:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def _is_opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, OVERLAY_OPAQUE_XATTR) == b"y"
    except OSError:
        return False


def _xattr_headers(target: int | str) -> dict[str, str]:
    """The kept xattrs of an open file (or a ``/proc/self/fd/N/name`` path, not followed)."""
    follow = isinstance(target, int)
    try:
        names = os.listxattr(target, follow_symlinks=follow)
    except OSError as e:
        if e.errno in _NO_XATTRS or e.errno == errno.ENOENT:
            return {}
        raise
    headers = {}
    for key in names:
        if key.startswith(_XATTR_KEPT) and not key.startswith(_XATTR_DROPPED):
            try:
                value = os.getxattr(target, key, follow_symlinks=follow)
            except OSError as e:
                if e.errno in _NO_XATTRS:
                    continue
                raise
            headers["SCHILY.xattr." + key] = value.decode("utf-8", "surrogateescape")
    return headers
