"""COPY and ADD as build steps: their sources gathered (the context, another stage or image,
a local archive ADD unpacks, a URL ADD fetches), the digest their cache key takes, their layer.

``COPY --from`` reads the other image's filesystem mounted read-only in a private mount
namespace (:mod:`stdc.engine.fsview`); everything else is read from directories of the host
below which nothing is followed out (:mod:`stdc.engine.build.buildcontext`).
"""

from __future__ import annotations

import bz2
import contextlib
import lzma
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stdc.engine.build import copy_layer
from stdc.engine.build.buildcontext import BuildContext
from stdc.engine.build.recipe import flag_values
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.kit.imagespec import Image

_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")
MAX_DOWNLOAD = 8 << 30


@dataclass
class FileStep:
    """A COPY or ADD made ready: what its history says, its content digest, how to write it."""

    description: str
    content: str
    write: Callable[[], tuple[str, int, str]]
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Remove what was downloaded or unpacked for the step."""
        for undo in self.cleanup:
            undo()


def prepare(
    engine: Engine,
    ctx: BuildContext,
    command: Any,
    expand: Callable[[str], str],
    parent: Image,
    workdir: str,
    source_image: Image | None,
    known: dict[str, list] | None = None,
) -> FileStep:
    """Make a COPY/ADD ready (``source_image``: the image ``--from`` names; ``known``: the
    context's file digests, see :func:`stdc.engine.build.copy_layer.digest`)."""

    name = command.cmd.upper()
    flags = flag_values(command)
    for flag in flags:
        if flag not in ("from", "chown", "chmod", "link") or (flag == "from" and name == "ADD"):
            raise BadInput(f"Dockerfile line {command.start_line}: unknown flag --{flag} of {name}")
    words = [expand(w) for w in command.value]
    heredocs = {h.name: h.content for h in command.heredocs}
    if len(words) < 2:
        raise BadInput(f"Dockerfile line {command.start_line}: {name} requires at least two arguments")
    sources, dest = words[:-1], words[-1]
    owner = copy_layer.Ownership(mode=copy_layer.parse_chmod(flags.get("chmod")))
    if flags.get("chown"):
        from stdc.engine.build import imagefiles

        owner.uid, owner.gid = imagefiles.ids(engine, parent, expand(flags["chown"]))
    target = copy_layer.destination(dest, workdir)
    dest_is_dir = None
    if not (dest.endswith("/") or dest in (".", "..")):
        from stdc.engine.build import imagefiles

        dest_is_dir = imagefiles.is_directory(engine, parent, target)
    shown = f"{name} {' '.join(command.flags)} {' '.join(words)}".replace("  ", " ")
    if source_image is not None:
        return _from_image(engine, source_image, sources, dest, workdir, dest_is_dir, owner, shown)
    step = FileStep(shown, "", lambda: ("", 0, ""))
    trees: list[tuple[BuildContext, list[copy_layer.Placement]]] = []
    try:
        context_sources = []
        for source in sources:
            if source.startswith("<<") and source[2:] in heredocs:
                tree = _scratch_tree(engine, step)
                _write_file(tree.path, source[2:], heredocs[source[2:]].encode(), 0o644)
                trees.append(
                    (tree, copy_layer.plan(tree, [source[2:]], dest, workdir, dest_is_dir or len(sources) > 1))
                )
            elif name == "ADD" and source.startswith(("http://", "https://")):
                tree = _scratch_tree(engine, step)
                filename = _download(source, tree.path)
                many = dest_is_dir or len(sources) > 1
                trees.append((tree, copy_layer.plan(tree, [filename], dest, workdir, many)))
            else:
                context_sources.append(source)
        context_paths = []
        for path in [p for source in context_sources for p in ctx.match(source)]:
            if name == "ADD" and _is_archive(ctx, path):
                tree = _scratch_tree(engine, step)
                _unpack(ctx, path, tree.path)
                trees.append((tree, [copy_layer.Placement("", target, True)]))
            else:
                context_paths.append(path)
        if context_paths:
            many = dest_is_dir or len(sources) > 1
            trees.append((ctx, copy_layer.plan(ctx, context_paths, dest, workdir, many)))
        step.content = _digest(trees, owner, ctx, known)
    except BaseException:
        step.close()
        raise

    step.write = lambda: _write_indexed(engine, trees, owner)
    return step


def _write_indexed(
    engine: Engine, trees: list[tuple[BuildContext, list[copy_layer.Placement]]], owner: copy_layer.Ownership
) -> tuple[str, int, str]:
    """Write the layer (a plain tar) and keep the index of its names for later lookups."""
    from stdc.engine import changes
    from stdc.engine.build import imagefiles

    names: list[tuple[str, bool]] = []

    def fill(writer: Any) -> None:
        add = writer.add

        def add_named(info: Any, data_fd: int = -1) -> None:
            names.append((info.name, info.isdir()))
            add(info, data_fd)

        writer.add = add_named
        for tree, placements in trees:
            copy_layer.write(writer, tree, placements, owner)

    layer = changes.store_layer(engine, fill, gzip=False)
    imagefiles.save_index(engine, layer[0], names)
    return layer


def _digest(
    trees: list[tuple[BuildContext, list[copy_layer.Placement]]],
    owner: copy_layer.Ownership,
    ctx: BuildContext,
    known: dict[str, list] | None,
) -> str:
    import hashlib

    h = hashlib.sha256()
    for tree, placements in trees:
        h.update(copy_layer.digest(tree, placements, owner, known if tree is ctx else None).encode())
        h.update(repr([(p.dest, p.is_dir) for p in placements]).encode())
    return "sha256:" + h.hexdigest()


def _from_image(
    engine: Engine,
    image: Image,
    sources: list[str],
    dest: str,
    workdir: str,
    dest_is_dir: bool | None,
    owner: copy_layer.Ownership,
    shown: str,
) -> FileStep:
    """COPY --from: the image's content is named by its id; read it mounted, in a private namespace."""
    from stdc.engine import changes, fsview, images

    name = engine.config.backends["storage"]
    storage = engine.backend("storage", name)
    top = images.unpack(engine, image, storage, name)
    t = fsview.Target("", None, storage, engine.home("storage", name), top, os.path.join(engine.root, "tmp"))

    def work() -> tuple[str, int, str]:
        with fsview.parent_view(t) as view, BuildContext(view.path, image=True) as tree:
            placements = copy_layer.plan(tree, sources, dest, workdir, dest_is_dir or len(sources) > 1)
            return changes.store_layer(
                engine, lambda writer: copy_layer.write(writer, tree, placements, owner), gzip=False
            )

    content = f"{image.id} {owner.uid}:{owner.gid}:{owner.mode}"
    return FileStep(shown, content, lambda: fsview.in_private_namespace(work))


def _scratch_tree(engine: Engine, step: FileStep) -> BuildContext:
    scratch = os.path.join(engine.root, "tmp")
    os.makedirs(scratch, mode=0o700, exist_ok=True)
    where = tempfile.mkdtemp(prefix="build-", dir=scratch)
    tree = BuildContext(where, owned=True, image=True)
    step.cleanup.append(tree.close)
    return tree


def _write_file(directory: str, name: str, data: bytes, mode: int) -> None:
    fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(os.path.join(directory, name), mode)


def _download(url: str, directory: str) -> str:
    """Fetch ``url`` into ``directory`` (mode 0600, its Last-Modified as mtime); the file's name."""
    import email.utils
    import urllib.error
    import urllib.request

    name = posixpath.basename(url.split("?", 1)[0].split("#", 1)[0].rstrip("/")) or "download"
    if name in (".", ".."):
        name = "download"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - http(s) only, checked above
            fd = os.open(os.path.join(directory, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                total = 0
                while chunk := response.read(1 << 20):
                    total += len(chunk)
                    if total > MAX_DOWNLOAD:
                        raise BadInput(f"ADD {url}: larger than {MAX_DOWNLOAD >> 30} GiB")
                    f.write(chunk)
            modified = response.headers.get("Last-Modified")
    except (urllib.error.URLError, OSError) as e:
        raise BadInput(f"ADD {url}: cannot fetch it: {getattr(e, 'reason', e)}") from None
    if modified:
        with contextlib.suppress(TypeError, ValueError, OverflowError):
            when = email.utils.parsedate_to_datetime(modified).timestamp()
            os.utime(os.path.join(directory, name), (when, when))
    return name


def _is_archive(ctx: BuildContext, path: str) -> bool:
    import stat

    try:
        fd = ctx.open(path, os.O_RDONLY)
    except BadInput:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.pread(fd, 512, 0)
    finally:
        os.close(fd)
    return head.startswith(_ARCHIVE_MAGIC) or head[257:262] == b"ustar"


def _unpack(ctx: BuildContext, path: str, where: str) -> None:
    """Extract the local archive ``path`` (tar; gzip, bzip2, xz or zstd) into ``where``."""
    from stdc.images.layers import apply_layer

    fd = ctx.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as raw, _decompressed(raw) as stream:
        try:
            apply_layer(stream, where, "plain")
        except BadInput as e:
            raise BadInput(f"ADD {path}: not a valid archive: {e}") from None


@contextlib.contextmanager
def _decompressed(raw: Any) -> Iterator[Any]:
    head = raw.peek(6)[:6] if hasattr(raw, "peek") else b""
    if head.startswith(b"BZh"):
        with bz2.BZ2File(raw) as f:
            yield f
    elif head.startswith(b"\xfd7zXZ\x00"):
        with lzma.LZMAFile(raw) as f:
            yield f
    else:
        yield raw  # plain, gzip and zstd: the layer reader detects them
