"""``stdc import``: a root filesystem tarball becomes a one-layer image.

The tarball is read once, from a file or a stream (stdin): as it is read it is written to the
store as a blob *as it came* (gzip stays gzip), decompressed, checked member by member and
hashed. Only when the whole archive has proved to be a valid tar does the blob become visible,
followed by the config, the manifest and the tag; a bad archive changes nothing in the store.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from stdc.errors import BadInput
from stdc.images.compression import CHUNK, Readable, Tee
from stdc.images.config_changes import apply_changes
from stdc.images.safepath import clean_name
from stdc.images.store import ImageStore
from stdc.images.tarstream import LayerTar
from stdc.kit import imagespec, references


def import_tarball(
    store: ImageStore,
    path_or_stream: str | os.PathLike[str] | BinaryIO,
    ref: str,
    changes: list[str] | None = None,
) -> imagespec.Image:
    """Import a root filesystem tarball (plain tar or gzip) as the image ``ref``.

    ``changes`` are ``--change`` instructions (``CMD …``, ``ENV …``; see :mod:`stdc.images.config_changes`).
    Raises ``BadInput("<source>: not a valid tar archive: …")`` for anything that is not a
    whole, safe tar archive (members escaping with ``..``, hardlinks pointing outside); the
    store is then unchanged.
    """
    reference = references.parse(ref)
    if reference.tag is None:
        raise BadInput(f"cannot import as {ref}: give a tag, not a digest")
    container_config = apply_changes({"Env": [f"PATH={imagespec.DEFAULT_PATH}"]}, changes or [])
    if isinstance(path_or_stream, str | os.PathLike):
        label = os.fspath(path_or_stream)
        with open(path_or_stream, "rb", buffering=CHUNK) as f:
            return _import(store, f, label, reference, container_config)
    label = getattr(path_or_stream, "name", None)
    return _import(store, path_or_stream, label if isinstance(label, str) else "-", reference, container_config)


def _import(
    store: ImageStore, source: Readable, label: str, reference: references.Reference, container_config: dict[str, Any]
) -> imagespec.Image:
    with store.ingesting(), store.blob_writer() as blob:
        try:
            layer = LayerTar(Tee(source, blob.write))
            for member in layer:
                clean_name(member.name)
                if member.islnk():
                    clean_name(member.linkname)
            diff_id = layer.finish()
        except BadInput as e:
            raise BadInput(f"{label}: not a valid tar archive: {e}") from None
        digest, size = blob.commit()
        media_type = imagespec.LAYER_GZIP if layer.compression == "gzip" else imagespec.LAYER_TAR
        created = imagespec.now()
        config = {
            "created": created,
            **imagespec.host_platform(),
            "config": container_config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": "stdc import", "comment": f"imported from {label}"}],
        }
        return store.add_image(reference, config, [imagespec.LayerDesc(digest, media_type, size, diff_id)])
