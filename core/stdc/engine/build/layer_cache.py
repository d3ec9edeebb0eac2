"""The build's layer cache: a step's result found again by what made it.

A step's key hashes its parent image's id, its instruction as it ran (arguments expanded, build
args it saw) and, for COPY and ADD, a digest of what it copies (content and metadata). The key
names the image the step made, an untagged image the store keeps as build cache (never shown
as dangling): ``<root>/builder/cache/<key>`` holds its manifest digest. ``builder prune`` drops
the entries and the blobs only they needed; ``system df`` counts them as ``Build Cache``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

from stdc.errors import BadInput, NotFound

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.kit.imagespec import Image


def key(parent_id: str, created_by: str, content: str = "") -> str:
    """The key of a step made on ``parent_id`` by ``created_by`` from ``content`` (a digest)."""
    return hashlib.sha256(json.dumps([parent_id, created_by, content]).encode()).hexdigest()


def _dir(engine: Engine) -> str:
    return os.path.join(engine.root, "builder", "cache")


def lookup(engine: Engine, step_key: str) -> Image | None:
    """The image a step of this key made, if the cache still has it."""
    path = os.path.join(_dir(engine), step_key)
    try:
        with open(path) as f:
            digest = json.load(f)["image"]
        image = engine.store.resolve(digest)
    except (OSError, ValueError, KeyError, TypeError, NotFound, BadInput):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # last used
    return image


def remember(engine: Engine, step_key: str, image: Image) -> None:
    """Record that the step ``step_key`` made ``image``."""
    where = _dir(engine)
    os.makedirs(where, mode=0o700, exist_ok=True)
    tmp = os.path.join(where, f".{step_key}.{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump({"image": image.manifest_digest, "created": time.time()}, f)
    os.replace(tmp, os.path.join(where, step_key))


def _hashes_path(engine: Engine) -> str:
    return os.path.join(engine.root, "builder", "file-digests.json")


def file_digests(engine: Engine) -> dict[str, list]:
    """The digests of context files hashed by earlier builds (see :func:`stdc.engine.build.copy_layer.digest`)."""
    try:
        with open(_hashes_path(engine)) as f:
            found = json.load(f)
        return found if isinstance(found, dict) else {}
    except (OSError, ValueError):
        return {}


def save_file_digests(engine: Engine, digests: dict[str, list]) -> None:
    """Keep the context files' digests for the next build (at most the newest 200,000)."""
    os.makedirs(os.path.dirname(_hashes_path(engine)), mode=0o700, exist_ok=True)
    if len(digests) > 200_000:
        digests = dict(list(digests.items())[-200_000:])
    tmp = f"{_hashes_path(engine)}.{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(digests, f, separators=(",", ":"))
    os.replace(tmp, _hashes_path(engine))


def records(engine: Engine) -> list[dict[str, Any]]:
    """The cache's entries as the Engine API's ``BuildCache`` rows of ``/system/df``: ``ID``,
    ``Type``, ``Description``, ``InUse``, ``Shared``, ``Size`` (bytes only the cache holds),
    ``CreatedAt``, ``LastUsedAt``."""

    kept = {layer.digest for _ref, image in engine.store.list_images() for layer in image.layers}
    kept |= {layer.digest for image in engine.store.dangling() for layer in image.layers}
    images: dict[str, Image] = {i.manifest_digest: i for i in engine.store.build_cache()}
    counted: set[str] = set()
    rows = []
    for name, digest, st in _entries(engine):
        image = images.get(digest)
        if image is None:
            continue
        own = [ld for ld in image.layers[-1:] if ld.digest not in counted]
        counted.update(ld.digest for ld in own)
        history = [h for h in image.config.get("history") or [] if isinstance(h, dict)]
        rows.append(
            {
                "ID": name[:25],
                "Type": "regular",
                "Description": (history[-1].get("created_by", "") if history else "")[:200],
                "InUse": False,
                "Shared": any(ld.digest in kept for ld in own),
                "Size": sum(ld.size for ld in own if ld.digest not in kept),
                "CreatedAt": _iso(st.st_ctime),
                "LastUsedAt": _iso(st.st_mtime),
                "UsageCount": 1,
            }
        )
    return rows


def _entries(engine: Engine) -> list[tuple[str, str, os.stat_result]]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(_dir(engine)):
            path = os.path.join(_dir(engine), name)
            if name.startswith("."):
                continue
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError), open(path) as f:
                found.append((name, json.load(f)["image"], os.stat(path)))
    return found


def _iso(ts: float) -> str:
    from stdc.engine.options import iso_time

    return iso_time(ts) or ""


def prune(engine: Engine) -> tuple[int, int]:
    """``builder prune``: forget every cache entry; return (entries, bytes freed)."""
    rows = records(engine)
    freed = sum(row["Size"] for row in rows)
    digests = {i.manifest_digest for i in engine.store.build_cache()}
    count = 0
    for name, _digest, _st in _entries(engine):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(_dir(engine), name))
            count += 1
    engine.store.drop_build_cache(digests)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_hashes_path(engine))
    indexes = os.path.join(engine.root, "builder", "layer-index")
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(indexes):  # the name index of layers no longer stored
            if not engine.store.has_blob("sha256:" + name.split(".")[0]):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(indexes, name))
    return count, freed
