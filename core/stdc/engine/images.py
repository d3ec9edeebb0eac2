"""Image verbs: resolve (building ``base`` or pulling what is absent), pull, push, tag, list,
inspect, history, remove, save, load and import; and unpacking an image's layers into a
storage driver for a new container.

Pull and push progress is a callback ``progress(what, done, total)``; nothing here prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from stdc.errors import Conflict, NotFound, StdcError

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.kit.imagespec import Image

Progress = Callable[[str, int, int], None]


def resolve(engine: Engine, ref: str) -> Image:
    """The image ``ref``: pulled when absent and a registry is known, the built-in ``base``
    built offline when first asked for."""
    try:
        return engine.store.resolve(ref)
    except NotFound:
        from stdc.images import base
        from stdc.kit import references

        # pull what is absent, but only from a registry the host names (its default one, or
        # one written in the reference): without one, `base` is built offline as always
        if engine.config.registry.get("default") or references.parse(ref).domain:
            try:
                return pull(engine, ref)
            except NotFound:
                if ref not in base.NAMES:
                    raise
        elif ref not in base.NAMES:
            raise
        image = base.ensure_base(engine.store)
        engine.emit("stdc_image_added", reference="base:latest", digest=image.manifest_digest, how="build")
        return image


def registry_name(engine: Engine, ref: str) -> str:
    """The name ``ref`` has in its registry, docker's way (``base`` -> ``docker.io/library/base:latest``;
    ``name@digest`` keeps its digest)."""
    remote = _qualified(engine, ref)
    return remote.name + (f":{remote.tag}" if remote.tag else f"@{remote.digest}")


def registry_tag(engine: Engine, ref: str) -> str | None:
    """The tag ``ref`` has in its registry (None for a ``name@digest``)."""
    return _qualified(engine, ref).tag


def _qualified(engine: Engine, ref: str) -> Any:
    from stdc.kit import references

    return references.qualify(references.parse(ref), engine.config.registry.get("default"))


def _remote(ref: Any) -> str:
    """A reference with its tag *and* digest (``str()`` of a Reference drops the digest)."""
    return ref.name + (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")


def _no_progress(_what: str, _done: int, _total: int) -> None:
    pass


def pull(
    engine: Engine,
    ref: str,
    platform: str | None = None,
    progress: Progress | None = None,
    tls_verify: bool | None = None,
) -> Image:
    """Pull ``ref`` from its registry and tag it as written (a ``name@digest`` stays untagged);
    ``tls_verify``: the front end's ``--tls-verify`` (see :func:`stdc.engine.registries.settings`)."""
    from stdc.engine import registries
    from stdc.kit import references

    wanted = references.parse(ref)
    name = engine.config.backends["registry"]
    digest = engine.backend("registry").hook.registry_pull(
        remote=_remote(_qualified(engine, ref)),
        local=str(wanted) if wanted.tag is not None else None,
        store=engine.store,
        platform=platform,
        settings=registries.settings(engine, tls_verify),
        home=engine.home("registry", name),
        progress=progress or _no_progress,
    )
    engine.emit("stdc_image_added", reference=_remote(wanted), digest=digest, how="pull")
    return engine.store.resolve(digest)


def push(engine: Engine, ref: str, progress: Progress | None = None, tls_verify: bool | None = None) -> str:
    """Push the local image ``ref`` to the registry its name says; return the manifest digest."""
    from stdc.engine import registries

    name = engine.config.backends["registry"]
    digest = engine.backend("registry").hook.registry_push(
        local=ref,
        remote=_remote(_qualified(engine, ref)),
        store=engine.store,
        settings=registries.settings(engine, tls_verify),
        home=engine.home("registry", name),
        progress=progress or _no_progress,
    )
    engine.record("image", "push", ref, {"name": ref})
    return digest


def unpack(engine: Engine, image: Image, storage: Any, storage_name: str) -> str | None:
    """Make sure every layer of ``image`` exists in the storage driver; return the top layer id."""
    import fcntl

    home = engine.home("storage", storage_name)
    locks = os.path.join(engine.root, "locks")
    os.makedirs(locks, mode=0o700, exist_ok=True)
    parent = None
    for layer, layer_id in zip(image.layers, image.chain_ids(), strict=True):
        if not storage.hook.storage_has_layer(home=home, layer_id=layer_id):
            lock_path = os.path.join(locks, f"layer-{storage_name}-{layer_id.split(':')[-1]}")
            with open(lock_path, "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not storage.hook.storage_has_layer(home=home, layer_id=layer_id):
                    # layers are shared by chain id, which the image config claims: check the
                    # content against its diff_id so no image can plant files in another's layer
                    def apply(target: str, whiteouts: str, layer: Any = layer) -> None:
                        from stdc.images.layers import apply_layer

                        with engine.store.open_blob(layer.digest) as blob:
                            apply_layer(blob, target, whiteouts, expected_diff_id=layer.diff_id)

                    storage.hook.storage_add_layer(home=home, layer_id=layer_id, parent_id=parent, apply=apply)
        parent = layer_id
    return parent


def inspect(engine: Engine, ref: str) -> dict:
    """What ``stdc inspect`` shows of an image."""
    image = engine.store.resolve(ref)
    return {
        "Id": image.id,
        "RepoTags": [str(r) for r in engine.store.refs_of(image)],
        "Digest": image.manifest_digest,
        "Created": image.config.get("created"),
        "Size": image.size,
        "Config": image.config.get("config", {}),
        "RootFS": image.config.get("rootfs", {}),
        "Layers": [layer.digest for layer in image.layers],
        "Author": image.config.get("author", ""),
        "Comment": next((h.get("comment", "") for h in reversed(image.config.get("history") or [])), ""),
        "Architecture": image.config.get("architecture"),
        "Os": image.config.get("os"),
        "History": image.config.get("history", []),
    }


def list_images(engine: Engine) -> list[tuple[Any, Image]]:
    """Every tagged image: ``(reference, image)``."""
    return engine.store.list_images()


def tag(engine: Engine, source: str, target: str) -> None:
    """Give the image ``source`` the additional name ``target``."""
    image = engine.store.tag(source, target)
    engine.record("image", "tag", image.id, {"name": target})


def remove(engine: Engine, ref: str, force: bool = False) -> str:
    """Untag or remove an image, as docker's ``rmi``. A name among several tags is only untagged,
    even while a container uses the image; otherwise an image a container uses is refused, or
    with ``force`` untagged and kept untagged (dangling) for its containers.

    Layers the storage drivers unpacked for it go too, once no image or container needs them.
    """
    image = engine.store.resolve(ref)
    users = engine.state.uses_image(image.id)
    tags = [str(r) for r in engine.store.refs_of(image)]
    named = _tag_named(ref, tags)
    if users and not (named and len(tags) > 1):
        if not force:
            names = ", ".join(c.name for c in users)
            raise Conflict(f"image {ref} is used by container(s) {names}: remove them first or use rmi -f")
        untagged = [named] if named else tags
        engine.store.make_dangling(image, untagged)
        result = "\n".join(f"Untagged: {name}" for name in untagged)
    else:
        result = engine.store.remove_image(ref, force=force)
        _collect_layers(engine)
    for line in result.splitlines():
        done, _, what = line.partition(": ")
        if done == "Untagged":
            engine.record("image", "untag", image.id, {"name": what})
        elif done == "Deleted":
            engine.record("image", "delete", image.id, {"name": ref})
    return result


def _tag_named(ref: str, tags: list[str]) -> str | None:
    """The tag among ``tags`` that ``ref`` names (``base`` names ``base:latest``), if any."""
    from stdc.errors import BadInput
    from stdc.kit import references

    try:
        parsed = str(references.parse(ref))
    except BadInput:
        return None
    return parsed if parsed in tags else None


def _collect_layers(engine: Engine) -> None:
    """Remove unpacked layers that no image in the store and no container needs any more."""
    from stdc import discovery

    needed = {layer for _ref, image in engine.store.list_images() for layer in image.chain_ids()}
    needed.update(layer for c in engine.state.all() for layer in c.config.get("layers", []))
    storage_root = os.path.join(engine.root, "storage")
    for name in os.listdir(storage_root) if os.path.isdir(storage_root) else []:
        try:
            driver = discovery.load("storage", name)
        except StdcError:
            continue  # its plugin was uninstalled: leave its files alone
        home = engine.home("storage", name)
        for layer_id in driver.hook.storage_list(home=home)["layers"]:
            if layer_id not in needed:
                driver.hook.storage_remove_layer(home=home, layer_id=layer_id)


def history(engine: Engine, ref: str) -> list[dict]:
    """The image's history entries newest first, each with the size of the layer it made."""
    image = engine.store.resolve(ref)
    layers = list(image.layers)
    entries = [h for h in image.config.get("history") or [] if isinstance(h, dict)]
    rows = []
    index = 0
    for h in entries:
        size = 0
        if not h.get("empty_layer") and index < len(layers):
            size = layers[index].size
            index += 1
        rows.append(
            {
                "Id": "<missing>",
                "Created": h.get("created") or "",
                "CreatedBy": h.get("created_by") or "",
                "Size": size,
                "Comment": h.get("comment") or "",
                "Author": h.get("author") or "",
            }
        )
    rows.reverse()
    if rows:
        rows[0]["Id"] = image.id
    return rows


def save(engine: Engine, refs: list[str], out: IO[bytes], kind: str = "oci") -> None:
    """Write the images ``refs`` to ``out`` as an ``oci`` or ``docker`` archive."""
    from stdc.images import archive

    archive.save(engine.store, refs, out, kind)


def load(engine: Engine, source: IO[bytes] | str) -> list[tuple[str | None, Image]]:
    """Load the images of an archive (a stream or a path) or an OCI layout directory."""
    from stdc.images import archive

    if isinstance(source, str) and not os.path.exists(source):
        raise StdcError(f"{source}: no such file or directory")
    loaded = archive.load(engine.store, source)
    for name, image in loaded:
        engine.emit("stdc_image_added", reference=name, digest=image.manifest_digest, how="load")
    return loaded


def import_tarball(engine: Engine, source: IO[bytes] | str, ref: str, changes: list[str] | None = None) -> Image:
    """Make a one-layer image ``ref`` from a root filesystem tarball (a stream or a path)."""
    from stdc.images.importer import import_tarball as make_image

    if isinstance(source, str) and not os.path.isfile(source):
        raise StdcError(f"{source}: no such file")
    image = make_image(engine.store, source, ref, changes=changes or None)
    engine.emit("stdc_image_added", reference=ref, digest=image.manifest_digest, how="import")
    return image
