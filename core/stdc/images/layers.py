"""The core's layer tar format (OCI): extracting a layer into a directory a storage driver gives.

A layer is a tar, plain or gzip, of the files it adds or changes; deletions are entries named
``.wh.NAME`` (NAME deleted) and ``.wh..wh..opq`` (the directory holding it is *opaque*: what the
layers below had in it is gone). :func:`apply_layer` stores deletions the way the driver asks:

``"overlay"``
    ``.wh.NAME`` becomes a character device 0/0 named NAME; an opaque directory gets the xattr
    ``trusted.overlay.opaque=y``. The target starts empty (it is one overlayfs lower layer).
``"aufs"``
    the ``.wh.`` entries are written as the empty files they are: aufs reads them so.
``"apply"``
    the target already holds the layers below; deletions are carried out. An opaque directory
    loses what it held *before* this layer, never what this layer itself puts in it.

Layers come from strangers. No member may land outside the target: names with ``..`` are
refused, a leading ``/`` is dropped, symlinks on the way are resolved inside the target as a
chroot would (:mod:`stdc.images.safepath`), nothing is written through a symlink, hardlink
targets must be inside the target. Symlinks themselves may point anywhere: they are data.
Device nodes in a tar are skipped (FIFOs are kept); modes (setuid too), owners, mtimes (of
directories after their contents) and xattrs (``SCHILY.xattr.*``: ``user.*``, ``security.*``,
ACLs, ``trusted.*`` except ``trusted.overlay.*``) are kept.

A malformed or truncated tar, or an unsafe member, raises ``BadInput`` part-way through: the
target then holds part of the layer and **the caller throws it away** (storage drivers extract
into a staging directory and remove it on any exception).

Writing layer tars from a directory (commit, export, cp, and the overlay/aufs fast diff) is
:mod:`stdc.images.layerwriter`. ``"plain"`` extracts with no whiteouts at all (``cp``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tarfile

from stdc.errors import BadInput
from stdc.images.compression import Readable
from stdc.images.safepath import PathError, RootDir, clean_name
from stdc.images.tarstream import LayerTar

FORMATS = ("overlay", "aufs", "apply", "plain")  # "plain": no whiteouts at all (cp)
WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"

_XATTR_PREFIXES = ("user.", "security.", "trusted.", "system.posix_acl_")
_XATTR_REFUSED = ("trusted.overlay.",)  # a layer must not forge overlayfs' own metadata
_IGNORED_XATTR_ERRORS = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)
# errors a member itself causes (a name too long, a file where a directory must be, …): BadInput
_MEMBER_ERRORS = (
    errno.ENAMETOOLONG,
    errno.EEXIST,
    errno.EISDIR,
    errno.ENOTDIR,
    errno.EINVAL,
    errno.ELOOP,
    errno.EMLINK,
)


def apply_layer(
    stream: Readable,
    target_dir: str,
    whiteout_format: str,
    expected_diff_id: str | None = None,
    keep_owners: bool = True,
) -> str:
    """Extract the layer tar read from ``stream`` into ``target_dir``; return its diff_id.

    ``whiteout_format`` is ``"overlay"``, ``"aufs"`` or ``"apply"`` (see the module doc).
    ``BadInput`` on a malformed layer, or when ``expected_diff_id`` is given and the layer is not
    that one; ``target_dir`` must then be discarded by the caller. Pass the image config's
    diff_id: layers are shared by chain id, which is computed from the config's claims, so an
    unchecked layer could poison another image's copy. ``keep_owners=False`` leaves what is
    written owned by the caller (``cp`` without ``-a``).
    """
    if whiteout_format not in FORMATS:
        raise ValueError(f"unknown whiteout format {whiteout_format!r} (one of {', '.join(FORMATS)})")
    with _Extractor(target_dir, whiteout_format, keep_owners) as extractor:
        layer = LayerTar(stream)
        for member in layer:
            try:
                extractor.add(member, layer)
            except OSError as e:
                if e.errno not in _MEMBER_ERRORS:
                    raise
                raise BadInput(f"cannot extract {member.name!r}: {e.strerror}") from None
            except (PathError, ValueError, OverflowError) as e:  # + a NUL in a pax name, an owner id out of range
                raise BadInput(f"cannot extract {member.name!r}: {e}") from None
        extractor.finish()
        diff_id = layer.finish()
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise BadInput(f"layer content does not match its diff_id: expected {expected_diff_id}, got {diff_id}")
    return diff_id


class _Extractor:
    """The state of one extraction: the root, a cached parent directory, deferred work."""

    def __init__(self, target_dir: str, whiteout_format: str, keep_owners: bool = True) -> None:
        self.root = RootDir(target_dir)
        self.format = whiteout_format
        self.chown = keep_owners and os.geteuid() == 0
        self._parent_key: str | None = None
        self._parent_fd = -1
        self.dir_times: list[tuple[list[str], int]] = []
        # "apply": paths this layer wrote (and their parents), and directories whose earlier
        # content goes once the whole layer is in
        self.added: set[str] = set()
        self.clear_later: list[list[str]] = []
        # "overlay": paths whited out, so that a directory this layer then makes there is opaque
        self.whited: set[str] = set()

    def __enter__(self) -> _Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._forget_parent()
        self.root.close()

    # -- members ------------------------------------------------------------------------------

    def add(self, m: tarfile.TarInfo, layer: LayerTar) -> None:
        parts = clean_name(m.name)
        if not parts:
            if m.isdir():  # "./": the root directory itself
                fd = self.root.open_dir([])
                try:
                    self._meta_fd(fd, m, data_written=False)
                finally:
                    os.close(fd)
                self.dir_times.append(([], _ns(m.mtime)))
            return
        name = parts[-1]
        if name.startswith(WHITEOUT_PREFIX) and self.format not in ("aufs", "plain"):
            self._whiteout(m, parts)
            return
        if name.startswith(WHITEOUT_META_PREFIX) and name != WHITEOUT_OPAQUE and self.format != "plain":
            return  # aufs' own bookkeeping (.wh..wh.plnk, .wh..wh.aufs): never part of a layer
        if not (m.isreg() or m.isdir() or m.issym() or m.islnk() or m.isfifo()):
            return  # device nodes (and unknown types) are not created from a layer
        parent = self._parent(parts[:-1])
        if self.format == "apply":
            self._mark_added(parts)
        if m.isdir():
            self._make_dir(parent, name, m, parts)
        elif m.isreg():
            self._clear_way(parent, name)
            self._make_file(parent, name, m, layer)
        elif m.issym():
            self._clear_way(parent, name)
            os.symlink(m.linkname, name, dir_fd=parent)
            self._meta_path(parent, name, m, symlink=True)
        elif m.islnk():
            self._clear_way(parent, name)
            self._make_hardlink(parent, name, m)
        else:
            self._clear_way(parent, name)
            os.mkfifo(name, 0o600, dir_fd=parent)
            self._meta_path(parent, name, m, symlink=False)

    def _make_file(self, parent: int, name: str, m: tarfile.TarInfo, layer: LayerTar) -> None:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=parent)
        try:
            if m.size:
                layer.copy(m, lambda chunk: _write_all(fd, chunk))
            self._meta_fd(fd, m, data_written=True)
        finally:
            os.close(fd)

    def _make_dir(self, parent: int, name: str, m: tarfile.TarInfo, parts: list[str]) -> None:
        if not self._clear_way(parent, name, keep_dir=True):
            os.mkdir(name, 0o700, dir_fd=parent)
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        try:
            self._meta_fd(fd, m, data_written=False)
            if self.format == "overlay" and "/".join(parts) in self.whited:
                os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
        finally:
            os.close(fd)
        self.dir_times.append((parts, _ns(m.mtime)))

    def _make_hardlink(self, parent: int, name: str, m: tarfile.TarInfo) -> None:
        target = clean_name(m.linkname)
        if not target:
            raise BadInput(f"hardlink {m.name!r} points at the root directory")
        try:
            target_parent = self.root.open_dir(target[:-1])
        except FileNotFoundError:
            raise BadInput(f"hardlink {m.name!r}: target {m.linkname!r} not found in the layer") from None
        try:
            os.link(target[-1], name, src_dir_fd=target_parent, dst_dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise BadInput(f"hardlink {m.name!r}: target {m.linkname!r} not found in the layer") from None
        except PermissionError:
            raise BadInput(f"hardlink {m.name!r}: target {m.linkname!r} is a directory") from None
        finally:
            os.close(target_parent)

    # -- deletions ----------------------------------------------------------------------------

    def _whiteout(self, m: tarfile.TarInfo, parts: list[str]) -> None:
        name, dir_parts = parts[-1], parts[:-1]
        if name == WHITEOUT_OPAQUE:
            if self.format == "overlay":
                fd = self.root.open_dir(dir_parts, create=True)
                try:
                    os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
                finally:
                    os.close(fd)
            else:
                self._mark_added(dir_parts)
                self.clear_later.append(dir_parts)
            return
        if name.startswith(WHITEOUT_META_PREFIX):
            return
        gone = name[len(WHITEOUT_PREFIX) :]
        if gone in ("", ".", ".."):
            raise BadInput(f"whiteout {m.name!r} names no file")
        path = "/".join([*dir_parts, gone])
        if self.format == "overlay":
            parent = self._parent(dir_parts)
            try:
                st = os.lstat(gone, dir_fd=parent)
            except FileNotFoundError:
                os.mknod(gone, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=parent)
                if self.chown:
                    os.chown(gone, m.uid, m.gid, dir_fd=parent, follow_symlinks=False)
                self.whited.add(path)
                return
            # the layer itself has `gone`: a file already hides the one below; a directory
            # must not show the lower one's content through
            if stat.S_ISDIR(st.st_mode):
                fd = os.open(gone, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
                try:
                    os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
                finally:
                    os.close(fd)
            return
        # "apply": delete what the layers below had there, never what this layer wrote
        if path in self.added:
            self.clear_later.append([*dir_parts, gone])
            return
        try:
            parent = self.root.open_dir(dir_parts)
        except (FileNotFoundError, BadInput):
            return  # nothing there to delete
        try:
            self._forget_parent()
            with contextlib.suppress(FileNotFoundError):
                _remove(parent, gone)
        finally:
            os.close(parent)

    def _clear_lower(self, parts: list[str]) -> None:
        """Remove from the directory ``parts`` everything this layer did not write."""
        try:
            fd = self.root.open_dir(parts)
        except (FileNotFoundError, BadInput):
            return
        try:
            prefix = "/".join(parts)
            for entry in list(os.scandir(fd)):
                path = f"{prefix}/{entry.name}" if prefix else entry.name
                if path not in self.added:
                    _remove(fd, entry.name)
                elif entry.is_dir(follow_symlinks=False):
                    self._clear_lower([*parts, entry.name])
        finally:
            os.close(fd)

    def finish(self) -> None:
        """Deferred work, once every member is in: opaque directories, then directory mtimes."""
        self._forget_parent()
        for parts in self.clear_later:
            self._clear_lower(parts)
        for parts, ns in reversed(self.dir_times):
            try:
                fd = self.root.open_dir(parts)
            except (FileNotFoundError, BadInput):
                continue
            try:
                os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)

    # -- helpers ------------------------------------------------------------------------------

    def _parent(self, parts: list[str]) -> int:
        """The directory ``parts``, created when missing; cached, as members come grouped by directory."""
        key = "/".join(parts)
        if key != self._parent_key:
            fd = self.root.open_dir(parts, create=True)
            self._forget_parent()
            self._parent_key, self._parent_fd = key, fd
        return self._parent_fd

    def _forget_parent(self) -> None:
        if self._parent_fd >= 0:
            os.close(self._parent_fd)
        self._parent_key, self._parent_fd = None, -1

    def _mark_added(self, parts: list[str]) -> None:
        for i in range(len(parts), 0, -1):
            path = "/".join(parts[:i])
            if path in self.added:
                break
            self.added.add(path)

    def _clear_way(self, parent: int, name: str, keep_dir: bool = False) -> bool:
        """Remove what is at ``name`` (a directory stays when ``keep_dir``); True if a directory stayed.

        Only ever a child of the cached parent goes, never one of its ancestors: the cache holds.
        """
        try:
            st = os.lstat(name, dir_fd=parent)
        except FileNotFoundError:
            return False
        if keep_dir and stat.S_ISDIR(st.st_mode):
            return True
        _remove(parent, name)
        return False

    def _meta_fd(self, fd: int, m: tarfile.TarInfo, data_written: bool) -> None:
        if self.chown:
            os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)  # after chown, which clears setuid bits
        for key, value in _xattrs(m):  # after chown, which clears security.capability
            try:
                os.setxattr(fd, key, value)
            except OSError as e:
                if e.errno not in _IGNORED_XATTR_ERRORS:
                    raise
        if data_written:
            ns = _ns(m.mtime)
            os.utime(fd, ns=(ns, ns))

    def _meta_path(self, parent: int, name: str, m: tarfile.TarInfo, symlink: bool) -> None:
        if self.chown:
            os.chown(name, m.uid, m.gid, dir_fd=parent, follow_symlinks=False)
        if not symlink:
            os.chmod(name, m.mode & 0o7777, dir_fd=parent)
        ns = _ns(m.mtime)
        os.utime(name, ns=(ns, ns), dir_fd=parent, follow_symlinks=False)


def _remove(parent: int, name: str) -> None:
    if stat.S_ISDIR(os.lstat(name, dir_fd=parent).st_mode):
        shutil.rmtree(name, dir_fd=parent)
    else:
        os.unlink(name, dir_fd=parent)


def _xattrs(m: tarfile.TarInfo) -> list[tuple[str, bytes]]:
    if not m.pax_headers:
        return []
    found = []
    for key, value in m.pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            name = key[len("SCHILY.xattr.") :]
            if name.startswith(_XATTR_PREFIXES) and not name.startswith(_XATTR_REFUSED):
                found.append((name, value.encode("utf-8", "surrogateescape")))
    return found


def _ns(mtime: float) -> int:
    return int(mtime) * 1_000_000_000 if isinstance(mtime, int) else round(mtime * 1_000_000_000)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
