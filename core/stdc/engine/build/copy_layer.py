"""COPY and ADD: the files a step copies, written straight into a layer tar — no container runs.

:func:`plan` resolves the sources (globs, ``.dockerignore``, directories copied by their content)
and where each lands, docker's way: a destination ending in ``/``, an existing directory of the
image, or several sources make it a directory. :func:`digest` hashes what will be copied (paths,
types, modes, owners, link targets and content, not times) for the layer cache; :func:`write`
writes the layer, with ``--chown``/``--chmod`` applied to every entry.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from stdc.engine.build.buildcontext import BuildContext, ContextError
from stdc.errors import BadInput

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


@dataclass
class Placement:
    """One source and where it goes: a file to ``dest``, a directory's content below ``dest``."""

    source: str
    dest: str  # absolute, normalized
    is_dir: bool


@dataclass
class Ownership:
    """``--chown`` and ``--chmod`` as ids and bits (None: keep the source's)."""

    uid: int | None = None
    gid: int | None = None
    mode: int | None = None


def parse_chmod(value: str | None) -> int | None:
    """``--chmod``: octal bits."""
    if not value:
        return None
    try:
        mode = int(value, 8)
    except ValueError:
        raise BadInput(f"invalid --chmod {value!r}: give octal bits such as 755") from None
    if not 0 <= mode <= 0o7777:
        raise BadInput(f"invalid --chmod {value!r}")
    return mode


def destination(dest: str, workdir: str) -> str:
    """The absolute path ``dest`` names from ``workdir``."""
    path = posixpath.normpath(posixpath.join(workdir or "/", dest))
    return "/" + path.lstrip("/")


def plan(tree: BuildContext, sources: list[str], dest: str, workdir: str, dest_is_dir: bool | None) -> list[Placement]:
    """Where each source lands; ``dest_is_dir``: whether the image has a directory at ``dest``."""
    matched = [path for source in sources for path in tree.match(source)]
    target = destination(dest, workdir)
    as_dir = dest.endswith("/") or dest in (".", "..") or bool(dest_is_dir)
    if len(matched) > 1 and not as_dir:
        raise BadInput("with more than one source file, the destination must be a directory and end with a /")
    placements = []
    for path in matched:
        fd = tree.open(path)
        try:
            is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        if is_dir:
            placements.append(Placement(path, target, True))
        else:
            name = posixpath.basename(path) or path
            placements.append(Placement(path, posixpath.join(target, name) if as_dir else target, False))
    return placements


def walk(tree: BuildContext, placement: Placement) -> Iterator[tuple[str, os.stat_result, int, str | None]]:
    """Every entry a placement copies: (path in the image, stat, directory fd, name), or for a
    single file (path, stat, its open fd, None). Ignored entries of the context are left out."""
    if not placement.is_dir:
        fd = tree.open(placement.source, os.O_RDONLY)
        try:
            yield placement.dest, os.fstat(fd), fd, None
        finally:
            os.close(fd)
        return
    top = tree.open(placement.source, os.O_RDONLY | os.O_DIRECTORY)
    stack = [(top, placement.source, placement.dest)]
    try:
        while stack:
            fd, rel, dest = stack.pop()
            try:
                with os.scandir(fd) as it:
                    entries = sorted(it, key=lambda e: e.name)
                for entry in entries:
                    src = f"{rel}/{entry.name}" if rel else entry.name
                    if tree.ignore.ignored(src) and not entry.is_dir(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                    path = posixpath.join(dest, entry.name)
                    if stat.S_ISDIR(st.st_mode):
                        if not tree.ignore.ignored(src):
                            yield path, st, fd, entry.name
                        stack.append((os.open(entry.name, _DIR, dir_fd=fd), src, path))
                    else:
                        yield path, st, fd, entry.name
            finally:
                os.close(fd)
    finally:
        for fd, _rel, _dest in stack:
            os.close(fd)


def digest(
    tree: BuildContext, placements: list[Placement], owner: Ownership, known: dict[str, list] | None = None
) -> str:
    """What the copy puts in the layer, hashed: the layer cache's key for COPY and ADD.

    ``known`` maps ``dev:inode`` to ``[size, mtime_ns, ctime_ns, sha256]`` of files hashed
    before: a file whose stat still says the same is not read again (git's index does the same);
    files hashed here are added to it."""
    h = hashlib.sha256(repr((owner.uid, owner.gid, owner.mode)).encode())
    for placement in placements:
        for path, st, fd, name in walk(tree, placement):
            h.update(f"\0{path}\0{st.st_mode:o}\0{st.st_size}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(name, dir_fd=fd).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(st.st_mode):
                h.update(_content_digest(fd, name, st, known).encode())
    return "sha256:" + h.hexdigest()


def _content_digest(fd: int, name: str | None, st: os.stat_result, known: dict[str, list] | None) -> str:
    key = f"{st.st_dev}:{st.st_ino}"
    seen = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    if known is not None and known.get(key, [])[:3] == seen:
        return known[key][3]
    content = hashlib.sha256()
    data = _open(fd, name)
    try:
        while chunk := os.read(data, _CHUNK):
            content.update(chunk)
    finally:
        if name is not None:
            os.close(data)
    result = content.hexdigest()
    # a file changed within the last seconds could change again without its times showing it
    if known is not None and time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > 2_000_000_000:
        known[key] = [*seen, result]
    return result


def _open(fd: int, name: str | None) -> int:
    if name is None:
        os.lseek(fd, 0, os.SEEK_SET)
        return fd
    return os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)


def write(writer: object, tree: BuildContext, placements: list[Placement], owner: Ownership) -> None:
    """Write every entry of ``placements`` to the layer ``writer`` (a TarWriter)."""
    for placement in placements:
        for path, st, fd, name in walk(tree, placement):
            info = tarinfo(path, st, owner)
            data = -1
            if stat.S_ISLNK(st.st_mode):
                info.linkname = os.readlink(name, dir_fd=fd)
            elif stat.S_ISREG(st.st_mode):
                data = _open(fd, name)
            try:
                writer.add(info, data)  # type: ignore[attr-defined]
            finally:
                if data >= 0 and name is not None:
                    os.close(data)


_TYPES = {stat.S_IFREG: tarfile.REGTYPE, stat.S_IFDIR: tarfile.DIRTYPE, stat.S_IFLNK: tarfile.SYMTYPE}


def tarinfo(path: str, st: os.stat_result, owner: Ownership) -> tarfile.TarInfo:
    """The tar header of one copied entry (regular files, directories and symlinks only)."""
    kind = _TYPES.get(stat.S_IFMT(st.st_mode))
    if kind is None:
        raise ContextError(f"{path}: only regular files, directories and symlinks can be copied")
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = kind
    info.mode = owner.mode if owner.mode is not None else stat.S_IMODE(st.st_mode)
    info.uid = owner.uid if owner.uid is not None else 0
    info.gid = owner.gid if owner.gid is not None else 0
    info.uname = info.gname = ""
    info.mtime = st.st_mtime_ns // 1_000_000_000
    info.size = st.st_size if kind == tarfile.REGTYPE else 0
    return info
