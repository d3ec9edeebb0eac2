"""A container's changes against its image: ``diff``, ``commit`` and ``export``.

Where the changes come from: a storage driver may offer its writable layer as it is
(``storage_changes``: overlay's upperdir, aufs' rw branch, with their whiteout format) — the
fast diff: a commit then tars that directory, converting its deletions to OCI whiteouts, and
``diff`` only looks up each entry in the image's view to tell ``A`` from ``C``. Without it the
core walks the container's mounted view against the image's (the generic fallback): entries
whose type, mode, owner, size, mtime, link target or device differ are changes, entries only
below are deletions, and every directory above a change is reported changed too (as a union
driver's copy-up shows it).

Both ways run in a private mount namespace (:mod:`stdc.engine.fsview`); nothing is mounted on the host.
A commit's layer becomes a verified blob first, then the config and the manifest, then the tag:
a crash at any point leaves no half image (see :mod:`stdc.images.store`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stdc.engine import fsview
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container
    from stdc.images.layerwriter import TarWriter
    from stdc.kit.imagespec import Image

# the layer tar format's names (stdc.images.layers, not imported here: `diff` does not need tarfile)
WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ROOT_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC  # a view's own root: /proc/PID/root is a link

Change = tuple[str, str]  # ("A" | "C" | "D", relative path without a leading "/")


# -- diff ---------------------------------------------------------------------------------------


def diff(engine: Engine, ref: str, fast: bool = True) -> list[Change]:
    """Every change of the container ``ref`` against its image, sorted by path.

    ``fast=False`` uses the generic walk even when the driver offers its writable layer.
    """
    c = engine.state.get(ref)
    upper = _fast_source(engine, c) if fast else None
    t = fsview.target(engine, c)

    def work() -> list[Change]:
        with fsview.parent_view(t) as below:
            if upper is not None:
                return sorted(_union_changes(upper[0], upper[1], below.path), key=lambda change: change[1])
            with fsview.container_view(t) as view:
                return _generic_changes(view, below)

    return fsview.in_private_namespace(work)


def _fast_source(engine: Engine, c: Container) -> tuple[str, str] | None:
    name = c.backends["storage"]
    storage = engine.backend("storage", name)
    return storage.hook.storage_changes(home=engine.home("storage", name), snapshot_id=c.id)


def _union_changes(upper: str, fmt: str, lower: str) -> Iterator[Change]:
    """Changes read from a union driver's writable directory; ``lower`` is the image's view."""
    up = os.open(upper, _ROOT_FLAGS)
    low: int | None = os.open(lower, _ROOT_FLAGS)
    stack: list[tuple[int, int | None, str]] = [(up, low, "")]
    try:
        while stack:
            up_fd, low_fd, base = stack.pop()
            try:
                yield from _union_dir(up_fd, low_fd, base, fmt, stack)
            finally:
                os.close(up_fd)
                if low_fd is not None:
                    os.close(low_fd)
    finally:
        for up_fd, low_fd, _base in stack:
            os.close(up_fd)
            if low_fd is not None:
                os.close(low_fd)


def _union_dir(
    up_fd: int, low_fd: int | None, base: str, fmt: str, stack: list[tuple[int, int | None, str]]
) -> Iterator[Change]:
    with os.scandir(up_fd) as it:
        entries = list(it)
    names = set()
    opaque = False
    for entry in entries:
        name = entry.name
        path = f"{base}/{name}" if base else name
        # the entry's type comes with the directory listing: stat only what may be a whiteout
        is_dir = entry.is_dir(follow_symlinks=False)
        if fmt == "aufs" and name.startswith(WHITEOUT_PREFIX):
            if name == WHITEOUT_OPAQUE:
                opaque = True
            elif not name.startswith(WHITEOUT_META_PREFIX):
                gone = name[len(WHITEOUT_PREFIX) :]
                yield "D", f"{base}/{gone}" if base else gone
            continue
        if fmt == "overlay" and not is_dir and not entry.is_file(follow_symlinks=False) and _is_whiteout(entry):
            yield "D", path
            continue
        names.add(name)
        below = _lstat(low_fd, name)
        yield ("C" if below is not None else "A"), path
        if is_dir:
            sub_up = os.open(name, _DIR_FLAGS, dir_fd=up_fd)
            sub_low = None
            if below is not None and stat.S_ISDIR(below.st_mode) and not (fmt == "overlay" and _opaque(sub_up)):
                sub_low = os.open(name, _DIR_FLAGS, dir_fd=low_fd)
            elif below is not None and stat.S_ISDIR(below.st_mode):
                # an opaque directory: what the image had in it is gone
                sub = os.open(name, _DIR_FLAGS, dir_fd=low_fd)
                try:
                    hidden = _names(sub)
                finally:
                    os.close(sub)
                sub_names = _names(sub_up)
                yield from (("D", f"{path}/{n}") for n in hidden - sub_names)
            stack.append((sub_up, sub_low, path))
    if opaque and low_fd is not None:
        yield from (("D", f"{base}/{n}" if base else n) for n in _names(low_fd) - names)


def _is_whiteout(entry: os.DirEntry[str]) -> bool:
    """overlay's whiteout: a character device 0/0."""
    st = entry.stat(follow_symlinks=False)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _generic_changes(view: fsview.View, below: fsview.View) -> list[Change]:
    """Compare the container's view with the image's; every ancestor of a change counts as changed."""
    new = os.open(view.path, _ROOT_FLAGS)
    old = os.open(below.path, _ROOT_FLAGS)
    found: dict[str, str] = {}
    try:
        _compare(new, old, "", view.skip, found)
    finally:
        os.close(new)
        os.close(old)
    for path in list(found):
        head = path.rpartition("/")[0]
        while head and head not in found:
            found[head] = "C"
            head = head.rpartition("/")[0]
    return [(kind, path) for path, kind in sorted(found.items())]


def _compare(new_fd: int, old_fd: int | None, base: str, skip: set[str], found: dict[str, str]) -> None:
    stack: list[tuple[int, int | None, str]] = [(os.dup(new_fd), os.dup(old_fd) if old_fd is not None else None, base)]
    try:
        while stack:
            nfd, ofd, here = stack.pop()
            try:
                new_entries = _stats(nfd)
                old_entries = _stats(ofd) if ofd is not None else {}
                for name, st in new_entries.items():
                    path = f"{here}/{name}" if here else name
                    if path in skip:
                        continue
                    before = old_entries.get(name)
                    if before is None:
                        found[path] = "A"
                    elif _differs(before, st, nfd, ofd, name):
                        found[path] = "C"
                    if stat.S_ISDIR(st.st_mode):
                        sub_old = None
                        if before is not None and stat.S_ISDIR(before.st_mode):
                            sub_old = os.open(name, _DIR_FLAGS, dir_fd=ofd)
                        stack.append((os.open(name, _DIR_FLAGS, dir_fd=nfd), sub_old, path))
                for name in old_entries.keys() - new_entries.keys():
                    path = f"{here}/{name}" if here else name
                    if path not in skip:
                        found[path] = "D"
            finally:
                os.close(nfd)
                if ofd is not None:
                    os.close(ofd)
    finally:
        for nfd, ofd, _here in stack:
            os.close(nfd)
            if ofd is not None:
                os.close(ofd)


def _differs(old: os.stat_result, new: os.stat_result, new_dir: int, old_dir: int | None, name: str) -> bool:
    if stat.S_IFMT(old.st_mode) != stat.S_IFMT(new.st_mode):
        return True
    if (old.st_mode, old.st_uid, old.st_gid) != (new.st_mode, new.st_uid, new.st_gid):
        return True
    if stat.S_ISDIR(new.st_mode):
        return False  # a directory whose entries changed shows as the ancestor of a change
    if old.st_mtime_ns != new.st_mtime_ns or old.st_size != new.st_size or old.st_rdev != new.st_rdev:
        return True
    if stat.S_ISLNK(new.st_mode):
        return os.readlink(name, dir_fd=new_dir) != os.readlink(name, dir_fd=old_dir)
    return False


def _stats(fd: int) -> dict[str, os.stat_result]:
    with os.scandir(fd) as it:
        return {e.name: e.stat(follow_symlinks=False) for e in it}


def _names(fd: int) -> set[str]:
    with os.scandir(fd) as it:
        return {e.name for e in it}


def _lstat(dir_fd: int | None, name: str) -> os.stat_result | None:
    if dir_fd is None:
        return None
    try:
        return os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return None


def _opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, OVERLAY_OPAQUE_XATTR) == b"y"
    except OSError:
        return False


# -- commit -------------------------------------------------------------------------------------


def write_layer(engine: Engine, c: Container, fast: bool = True, gzip: bool = True) -> tuple[str, int, str]:
    """Write the container's changes as a layer blob (gzip, or a plain tar); return ``(digest, size, diff_id)``."""
    upper = _fast_source(engine, c) if fast else None
    if upper is not None:
        return store_layer(engine, lambda writer: _write_union(writer, *upper), gzip)
    t = fsview.target(engine, c)

    def work() -> tuple[str, int, str]:
        with fsview.parent_view(t) as below, fsview.container_view(t) as view:
            changes = _generic_changes(view, below)

            def fill(writer: TarWriter) -> None:
                from stdc.images.layerwriter import write_changes

                root = os.open(view.path, _ROOT_FLAGS)
                try:
                    write_changes(writer, root, changes)
                finally:
                    os.close(root)

            return store_layer(engine, fill, gzip)

    return fsview.in_private_namespace(work)


def _write_union(writer: TarWriter, upper: str, fmt: str) -> None:
    from stdc.images.layerwriter import write_tree

    fd = os.open(upper, _ROOT_FLAGS)
    try:
        write_tree(writer, fd, whiteouts=fmt)
    finally:
        os.close(fd)


def store_layer(engine: Engine, fill: Any, gzip: bool = True) -> tuple[str, int, str]:
    """Store the layer ``fill(writer)`` writes to a :class:`TarWriter` (gzip, or a plain tar);
    return ``(digest, size, diff_id)``."""
    from stdc.images.layerwriter import TarWriter

    with engine.store.blob_writer() as blob:
        writer = TarWriter(blob.write, gzip=gzip)
        fill(writer)
        diff_id = writer.close()
        digest, size = blob.commit()
    return digest, size, diff_id


def commit(
    engine: Engine,
    ref: str,
    reference: str | None,
    message: str | None = None,
    author: str | None = None,
    changes: list[str] | None = None,
    fast: bool = True,
) -> Image:
    """Make the container's changes a new image on top of its own; tag it ``reference`` if given.

    ``fast=False`` uses the generic walk even when the driver offers its writable layer."""
    from stdc.images.config_changes import apply_changes
    from stdc.kit import imagespec, references

    c = engine.state.get(ref)
    ref = references.parse(reference) if reference else None
    if ref is not None and ref.tag is None:
        from stdc.errors import BadInput

        raise BadInput(f"cannot commit as {reference}: give a tag, not a digest")
    try:
        base = engine.store.resolve(c.image_id)
    except NotFound:
        raise NotFound(f"the image of container {c.name} ({c.image}) is no longer in the store") from None
    container_config = _container_config(base.config.get("config") or {}, c)
    container_config = apply_changes(container_config, list(changes or []))
    with engine.store.ingesting():
        digest, size, diff_id = write_layer(engine, c, fast)
        created = imagespec.now()
        entry: dict[str, Any] = {"created": created, "created_by": " ".join(c.config.get("args", []))}
        if author:
            entry["author"] = author
        if message:
            entry["comment"] = message
        config = {k: v for k, v in base.config.items() if k not in ("rootfs", "history", "config")}
        config.update(created=created, config=container_config)
        if author:
            config["author"] = author
        elif "author" in config:
            del config["author"]
        config["history"] = [*image_history(base), entry]
        config["rootfs"] = {"type": "layers", "diff_ids": [*(ld.diff_id for ld in base.layers), diff_id]}
        layers = [*base.layers, imagespec.LayerDesc(digest, imagespec.LAYER_GZIP, size, diff_id)]
        image = engine.store.add_image(ref, config, layers)
    engine.emit("stdc_image_added", reference=str(ref) if ref else "", digest=image.manifest_digest, how="commit")
    return image


def _container_config(image_config: dict[str, Any], c: Container) -> dict[str, Any]:
    """The image config's ``config`` as the container ran: its env, working dir and command."""
    result = dict(image_config)
    if c.config.get("env"):
        result["Env"] = list(c.config["env"])
    if c.config.get("cwd") and c.config["cwd"] != "/":
        result["WorkingDir"] = c.config["cwd"]
    args = list(c.config.get("args") or [])
    entrypoint = list(image_config.get("Entrypoint") or [])
    if entrypoint and args[: len(entrypoint)] == entrypoint:
        result["Cmd"] = args[len(entrypoint) :] or image_config.get("Cmd")
    elif args:
        result["Entrypoint"] = None
        result["Cmd"] = args
    return {k: v for k, v in result.items() if v is not None}


def image_history(image: Image) -> list[dict[str, Any]]:
    """The base image's history, made to account for every layer (one entry per layer when absent)."""
    history = [dict(h) for h in image.config.get("history") or [] if isinstance(h, dict)]
    with_layers = sum(1 for h in history if not h.get("empty_layer"))
    if with_layers < len(image.layers):
        history += [{"created_by": ""} for _ in range(len(image.layers) - with_layers)]
    return history


# -- export -------------------------------------------------------------------------------------


def export(engine: Engine, ref: str, out_fd: int) -> None:
    """Write the container's flattened filesystem as a plain tar to ``out_fd``."""
    c = engine.state.get(ref)
    t = fsview.target(engine, c)

    def work() -> bool:
        from stdc.images.layerwriter import TarWriter, write_tree

        with fsview.container_view(t) as view:
            writer = TarWriter(lambda data: _write_all(out_fd, data), gzip=False)
            writer.skip = view.skip
            root = os.open(view.path, _ROOT_FLAGS)
            try:
                write_tree(writer, root)
                writer.close()
            except BrokenPipeError:  # the reader went away (`export c | head`): told the parent as such
                return False
            finally:
                os.close(root)
        return True

    if not fsview.in_private_namespace(work):
        raise BrokenPipeError("the reader of the export closed its end")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
