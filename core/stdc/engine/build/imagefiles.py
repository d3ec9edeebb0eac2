"""What an image has at a few paths, read from its layer tars (top layer first) without
unpacking anything: whether a COPY destination is a directory, and the image's /etc/passwd and
/etc/group for ``--chown`` by name.

Whether a path is a directory is answered from an index of each layer's names (its directories,
other entries and whiteouts) kept under ``<root>/builder/layer-index``: made once per layer, by
reading its tar, or by the build step that wrote it (:func:`save_index`).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.kit.imagespec import Image

_SMALL = 1 << 20


def _index_path(engine: Engine, digest: str) -> str:
    return os.path.join(engine.root, "builder", "layer-index", digest.split(":")[-1] + ".json")


def save_index(engine: Engine, digest: str, entries: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    """Keep the index of the layer ``digest`` from its entries ``(name, is_directory)``."""
    from stdc.images.layers import WHITEOUT_OPAQUE, WHITEOUT_PREFIX

    dirs: set[str] = set()
    others: set[str] = set()
    gone: set[str] = set()
    for raw, is_dir in entries:
        name = posixpath.normpath(raw).lstrip("/")
        head, _, base = name.rpartition("/")
        parts = head.split("/") if head else []
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        if base == WHITEOUT_OPAQUE:
            gone.add(head + "/*")
        elif base.startswith(WHITEOUT_PREFIX):
            gone.add(posixpath.join(head, base[len(WHITEOUT_PREFIX) :]))
        elif is_dir:
            dirs.add(name)
        else:
            others.add(name)
    index = {"dirs": sorted(dirs), "others": sorted(others), "gone": sorted(gone)}
    path = _index_path(engine, digest)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(index, f, separators=(",", ":"))
    os.replace(tmp, path)
    return index


def _index(engine: Engine, digest: str) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError), open(_index_path(engine, digest)) as f:
        return json.load(f)
    from stdc.images.tarstream import LayerTar

    with engine.store.open_blob(digest) as blob:
        return save_index(engine, digest, ((m.name, m.isdir()) for m in LayerTar(blob)))


def is_directory(engine: Engine, image: Image, path: str) -> bool:
    """Whether the image has a directory at the absolute ``path``."""
    wanted = posixpath.normpath(path).lstrip("/")
    if not wanted:
        return True
    ancestors = ["/".join(wanted.split("/")[: i + 1]) for i in range(wanted.count("/") + 1)]
    for layer in reversed(image.layers):
        index = _index(engine, layer.digest)
        if wanted in set(index["dirs"]):
            return True
        if wanted in set(index["others"]):
            return False
        gone = set(index["gone"])
        if any(a in gone or (a.rpartition("/")[0] + "/*") in gone for a in ancestors):
            return False
    return False


def read_files(engine: Engine, image: Image, paths: list[str]) -> dict[str, bytes]:
    """The content of regular files (up to 1 MiB each) of the image at these absolute paths."""
    from stdc.images.layers import WHITEOUT_PREFIX
    from stdc.images.tarstream import LayerTar

    wanted = {p.strip("/"): p for p in paths}
    decided: dict[str, bytes | None] = {}
    for layer in reversed(image.layers):
        if len(decided) == len(wanted):
            break
        with engine.store.open_blob(layer.digest) as blob:
            tar = LayerTar(blob)
            here: dict[str, bytes | None] = {}
            for member in tar:
                name = posixpath.normpath(member.name).lstrip("/")
                head, _, base = name.rpartition("/")
                if base.startswith(WHITEOUT_PREFIX) and posixpath.join(head, base[len(WHITEOUT_PREFIX) :]) in wanted:
                    here.setdefault(posixpath.join(head, base[len(WHITEOUT_PREFIX) :]), None)
                elif name in wanted and name not in here:
                    chunks: list[bytes] = []
                    if member.isfile() and member.size <= _SMALL:
                        tar.copy(member, chunks.append)
                    here[name] = b"".join(chunks)
        for name, data in here.items():
            decided.setdefault(name, data)
    return {wanted[p]: data for p, data in decided.items() if data is not None}


def ids(engine: Engine, image: Image, chown: str) -> tuple[int, int]:
    """``--chown=USER[:GROUP]`` as ids, names looked up in the image's /etc/passwd and /etc/group."""
    user, _, group = chown.partition(":")
    files: dict[str, bytes] = {}
    if not (user.isdigit() and (not group or group.isdigit())):
        files = read_files(engine, image, ["/etc/passwd", "/etc/group"])
    uid, default_gid = _id(user, files.get("/etc/passwd"), chown)
    gid = _id(group, files.get("/etc/group"), chown)[0] if group else default_gid
    return uid, gid


def _id(name: str, content: bytes | None, chown: str) -> tuple[int, int]:
    """A name's id (column 3 of passwd or group) and, for a user, its group (column 4)."""
    if name.isdigit():
        return int(name), int(name)
    for line in (content or b"").decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) > 3 and fields[0] == name and fields[2].isdigit():
            return int(fields[2]), int(fields[3]) if fields[3].isdigit() else int(fields[2])
    raise BadInput(f"--chown={chown}: no user or group {name!r} in the image")
