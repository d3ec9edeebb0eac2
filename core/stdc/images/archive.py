"""``stdc save`` / ``stdc load``: images in and out of the store as archives.

Two layouts, both read and written:

- **OCI** (default): an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/…``) in a
  tar — what ``podman save --format oci-archive`` and ``skopeo copy … oci-archive:`` write — or
  as a directory (``skopeo copy … oci:DIR:TAG``). Each image is named in index.json by
  ``org.opencontainers.image.ref.name`` (``name:tag``; containerd's ``io.containerd.image.name``
  is preferred when present, a bare tag is taken as a name).
- **docker** (``docker save``, ``podman save``): ``manifest.json`` listing each image's config
  file, ``RepoTags`` and uncompressed ``layer.tar`` files.

Loading trusts nothing: every blob is verified against the digest that names it, every layer is
read through the strict tar reader (names with ``..``, hardlinks out, whiteouts naming nothing
are refused) and its diff_id checked against the config, unknown media types are refused.
Only once every image of the archive is whole in the store are they tagged; on any error the
blobs already written are collected again, so a failed load changes nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

from stdc.errors import BadInput, NotFound
from stdc.images.compression import CHUNK, Tee, open_uncompressed
from stdc.images.layers import WHITEOUT_PREFIX
from stdc.images.safepath import clean_name
from stdc.images.store import ImageStore
from stdc.images.tarstream import LayerTar
from stdc.kit import imagespec, references
from stdc.kit.imagespec import (  # noqa: F401 - published here before the kit
    CONFIG_TYPES,
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_LAYER_TAR,
    LAYER_TYPES,
    choose_platform,
)

CONTAINERD_NAME = "io.containerd.image.name"


# -- save ---------------------------------------------------------------------------------------


def save(store: ImageStore, names: list[str], out: BinaryIO, layout: str = "oci") -> None:
    """Write the images ``names`` to ``out`` as a tar: ``layout`` ``"oci"`` or ``"docker"``."""
    images = []
    for name in names:
        image = store.resolve(name)
        manifest_digest, manifest = _platform_manifest(store, image.manifest_digest)
        tags = _tags_for(name, image)
        images.append((image, manifest_digest, manifest, tags))
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if layout == "docker":
            _save_docker(store, images, tar)
        else:
            _save_oci(store, images, tar)


def _tags_for(name: str, image: imagespec.Image) -> list[str]:
    """The tags to write for an image asked for as ``name``: that tag, or all of its tags by id."""
    with contextlib.suppress(BadInput):
        ref = references.parse(name)
        if ref.tag is not None and any(str(r) == str(ref) for r in image.refs):
            return [str(ref)]
    return [str(r) for r in image.refs]


def _platform_manifest(store: ImageStore, digest: str) -> tuple[str, dict[str, Any]]:
    """The image manifest an index entry names (this host's, when it is an image index)."""
    for _depth in range(4):
        doc = _blob_json(store, digest)
        if "manifests" not in doc:
            return digest, doc
        child = choose_platform(doc)
        if child is None:
            want = imagespec.host_platform()
            raise NotFound(f"image index {digest} has no manifest for {want['os']}/{want['architecture']}")
        digest = child["digest"]
    raise BadInput(f"image index {digest} nests too deeply")


def _blob_json(store: ImageStore, digest: str) -> dict[str, Any]:
    with store.open_blob(digest) as f:
        return imagespec.read_json(f, f"blob {digest}")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_blob(tar: tarfile.TarFile, store: ImageStore, name: str, digest: str) -> None:
    path = store.blob_path(digest)
    info = tarfile.TarInfo(name)
    info.size, info.mode = os.path.getsize(path), 0o644
    with store.open_blob(digest) as f:
        tar.addfile(info, f)


def _save_oci(store: ImageStore, images: list, tar: tarfile.TarFile) -> None:
    _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    written: set[str] = set()
    entries = []
    for _image, manifest_digest, manifest, tags in images:
        blobs = [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"]), manifest_digest]
        for digest in blobs:
            if digest not in written:
                written.add(digest)
                _add_blob(tar, store, f"blobs/sha256/{digest[7:]}", digest)
        desc = {
            "mediaType": manifest.get("mediaType") or imagespec.MANIFEST,
            "digest": manifest_digest,
            "size": os.path.getsize(store.blob_path(manifest_digest)),
        }
        entries += [{**desc, "annotations": {imagespec.REF_NAME: tag}} for tag in tags] or [desc]
    index = {"schemaVersion": 2, "mediaType": imagespec.INDEX, "manifests": entries}
    _add_bytes(tar, "index.json", json.dumps(index, separators=(",", ":")).encode())


def _save_docker(store: ImageStore, images: list, tar: tarfile.TarFile) -> None:
    written: set[str] = set()
    manifest_json = []
    for image, _digest, manifest, tags in images:
        config_digest = manifest["config"]["digest"]
        config_name = f"{config_digest[7:]}.json"
        if config_name not in written:
            written.add(config_name)
            _add_blob(tar, store, config_name, config_digest)
        layer_names = []
        for layer in image.layers:
            name = f"{layer.diff_id[7:]}/layer.tar"
            layer_names.append(name)
            if name in written:
                continue
            written.add(name)
            _add_bytes(tar, f"{layer.diff_id[7:]}/VERSION", b"1.0")
            with store.open_blob(layer.digest) as blob, tempfile.TemporaryFile(dir="/var/tmp") as plain:
                _kind, reader = open_uncompressed(blob)
                while chunk := reader.read(CHUNK):
                    plain.write(chunk)
                info = tarfile.TarInfo(name)
                info.size, info.mode = plain.tell(), 0o644
                plain.seek(0)
                tar.addfile(info, plain)
        manifest_json.append({"Config": config_name, "RepoTags": tags, "Layers": layer_names})
    _add_bytes(tar, "manifest.json", json.dumps(manifest_json).encode())


# -- load ---------------------------------------------------------------------------------------


class _Source:
    """Named files of an archive: a tar (seekable) or a directory."""

    def __init__(self, path: str | None, tar: tarfile.TarFile | None, label: str) -> None:
        self.path = path
        self.tar = tar
        self.label = label
        self._members = {(m.name[2:] if m.name.startswith("./") else m.name): m for m in tar} if tar else {}

    def exists(self, name: str) -> bool:
        if self.tar is not None:
            return name in self._members
        return os.path.isfile(self._join(name))

    def _join(self, name: str) -> str:
        assert self.path is not None
        parts = clean_name(name)
        return os.path.join(self.path, *parts)

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self.tar is not None:
            member = self._members.get(name)
            f = self.tar.extractfile(member) if member is not None else None
            if f is None:
                raise BadInput(f"{self.label}: {name} is missing from the archive")
            with f:
                yield f
            return
        try:
            f = open(self._join(name), "rb", buffering=CHUNK)  # noqa: SIM115 - closed below
        except (FileNotFoundError, IsADirectoryError):
            raise BadInput(f"{self.label}: {name} is missing") from None
        with f:
            yield f

    def read_json(self, name: str) -> Any:
        with self.open(name) as f:
            return imagespec.read_json(f, f"{self.label}: {name}")


@dataclass
class _Pending:
    """An image read from an archive, blobs stored, waiting to be tagged."""

    names: list[str]
    manifest: bytes


def load(store: ImageStore, source: str | BinaryIO) -> list[tuple[str, imagespec.Image]]:
    """Load every image of an archive (a path to a tar or an OCI layout directory, or a stream);
    return ``(name, image)`` for each name tagged (``""`` for an untagged image)."""
    with _open_source(source) as src:
        try:
            with store.ingesting():
                if src.exists("manifest.json"):
                    pending = _read_docker(store, src)
                elif src.exists("index.json"):
                    pending = _read_oci(store, src)
                else:
                    raise BadInput(f"{src.label}: neither an OCI image layout nor a docker archive")
                loaded = []
                for p in pending:
                    for name in p.names or [None]:
                        image = store.add_manifest(name, p.manifest)
                        loaded.append((name or "", image))
                return loaded
        except BaseException:
            store.collect_garbage()
            raise


@contextlib.contextmanager
def _open_source(source: str | BinaryIO) -> Iterator[_Source]:
    if isinstance(source, str) and os.path.isdir(source):
        yield _Source(source, None, source)
        return
    with contextlib.ExitStack() as stack:
        if isinstance(source, str):
            label = source
            f: IO[bytes] = stack.enter_context(open(source, "rb"))  # noqa: SIM115
        else:
            label = "-"
            f = stack.enter_context(tempfile.TemporaryFile(dir="/var/tmp"))
            while chunk := source.read(CHUNK):
                f.write(chunk)
            f.seek(0)
        try:
            tar = stack.enter_context(tarfile.open(fileobj=f, mode="r:*"))
            src = _Source(None, tar, label)
        except (tarfile.TarError, EOFError, OSError) as e:
            raise BadInput(f"{label}: not a valid tar archive ({str(e).splitlines()[0] if str(e) else e})") from None
        yield src


def _read_oci(store: ImageStore, src: _Source) -> list[_Pending]:
    layout = src.read_json("oci-layout") if src.exists("oci-layout") else {}
    if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != "1.0.0":
        raise BadInput(f"{src.label}: not an OCI image layout (oci-layout missing or of another version)")
    index = src.read_json("index.json")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise BadInput(f"{src.label}: index.json is not an OCI image index")
    pending: dict[str, _Pending] = {}
    for desc in index["manifests"]:
        digest, manifest = _oci_manifest(src, _descriptor(src, desc, "index.json"))
        entry = pending.get(digest)
        if entry is None:
            _store_oci_image(store, src, manifest)
            entry = pending[digest] = _Pending([], manifest)
        name = _oci_name(desc.get("annotations") or {})
        if name and name not in entry.names:
            entry.names.append(name)
    return list(pending.values())


def _descriptor(src: _Source, desc: Any, where: str) -> dict[str, Any]:
    if (
        not isinstance(desc, dict)
        or not isinstance(desc.get("digest"), str)
        or not references.DIGEST_RE.fullmatch(desc["digest"])
        or not isinstance(desc.get("size"), int)
    ):
        raise BadInput(f"{src.label}: a descriptor in {where} is malformed (digest, size)")
    return desc


def _oci_manifest(src: _Source, desc: dict[str, Any]) -> tuple[str, bytes]:
    """The image manifest (bytes, verified) an index entry names, choosing this host's platform."""
    for _depth in range(4):
        data = _read_verified(src, desc)
        try:
            doc = json.loads(data)
        except ValueError as e:
            raise BadInput(f"{src.label}: manifest {desc['digest']} is not valid JSON ({e})") from None
        media = doc.get("mediaType") or desc.get("mediaType")
        if media in imagespec.INDEX_TYPES or "manifests" in doc:
            child = choose_platform(doc)
            if child is None:
                raise BadInput(f"{src.label}: image index {desc['digest']} has no manifest for this platform")
            desc = _descriptor(src, child, "an image index")
            continue
        if media not in imagespec.MANIFEST_TYPES:
            raise BadInput(f"{src.label}: unknown media type {media!r} for manifest {desc['digest']}")
        return desc["digest"], data
    raise BadInput(f"{src.label}: image indexes nest too deeply")


def _read_verified(src: _Source, desc: dict[str, Any]) -> bytes:
    """A small blob (manifest, config) read and checked against its descriptor."""
    import hashlib

    if desc["size"] > imagespec.JSON_LIMIT:
        raise BadInput(f"{src.label}: blob {desc['digest']} is too large for a manifest or config")
    with src.open(f"blobs/sha256/{desc['digest'][7:]}") as f:
        data = f.read(imagespec.JSON_LIMIT + 1)
    actual = "sha256:" + hashlib.sha256(data).hexdigest()
    if actual != desc["digest"] or len(data) != desc["size"]:
        raise BadInput(f"{src.label}: blob digest mismatch: expected {desc['digest']}, got {actual}")
    return data


def _oci_name(annotations: dict[str, Any]) -> str | None:
    name = annotations.get(CONTAINERD_NAME) or annotations.get(imagespec.REF_NAME)
    if not isinstance(name, str) or not name:
        return None
    try:
        ref = references.parse(name)
    except BadInput:
        return None  # a bare tag that is no name either ("1.0"): the image stays untagged
    return str(ref) if ref.tag is not None else None


def _store_oci_image(store: ImageStore, src: _Source, manifest_bytes: bytes) -> None:
    manifest = json.loads(manifest_bytes)
    try:
        config_desc = _descriptor(src, manifest["config"], "a manifest")
        layer_descs = [_descriptor(src, d, "a manifest") for d in manifest["layers"]]
    except (KeyError, TypeError):
        raise BadInput(f"{src.label}: a manifest lacks its config or layers") from None
    if config_desc.get("mediaType") not in CONFIG_TYPES:
        raise BadInput(f"{src.label}: unknown media type {config_desc.get('mediaType')!r} for an image config")
    config_bytes = _read_verified(src, config_desc)
    diff_ids = _diff_ids(src, config_bytes, len(layer_descs))
    for desc, diff_id in zip(layer_descs, diff_ids, strict=True):
        media = desc.get("mediaType")
        if media not in LAYER_TYPES:
            raise BadInput(f"{src.label}: unknown media type {media!r} for layer {desc['digest']}")
        if store.has_blob(desc["digest"]):
            continue
        with src.open(f"blobs/sha256/{desc['digest'][7:]}") as f:
            _store_layer(store, src, f, desc["digest"], desc["size"], diff_id)
    store.put_blob(config_bytes, config_desc["digest"], config_desc["size"])


def _diff_ids(src: _Source, config_bytes: bytes, count: int) -> list[str]:
    try:
        config = json.loads(config_bytes)
        diff_ids = config["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        raise BadInput(f"{src.label}: an image config is malformed (no rootfs.diff_ids)") from None
    if not isinstance(diff_ids, list) or len(diff_ids) != count:
        raise BadInput(f"{src.label}: an image config lists {len(diff_ids)} layers, its manifest {count}")
    if not all(isinstance(d, str) and references.DIGEST_RE.fullmatch(d) for d in diff_ids):
        raise BadInput(f"{src.label}: an image config has a malformed diff_id")
    return diff_ids


def _store_layer(
    store: ImageStore, src: _Source, stream: IO[bytes], digest: str | None, size: int | None, diff_id: str
) -> tuple[str, int, str]:
    """Store a layer blob, read once: checked member by member, its diff_id and digest verified.
    Returns ``(digest, size, compression)``."""
    with store.blob_writer() as blob:
        try:
            layer = LayerTar(Tee(stream, blob.write))
            for member in layer:
                _check_member(member)
            actual = layer.finish()
        except BadInput as e:
            raise BadInput(f"{src.label}: layer {digest or diff_id}: {e}") from None
        if actual != diff_id:
            raise BadInput(
                f"{src.label}: layer {digest or diff_id} does not match its diff_id {diff_id} (got {actual})"
            )
        try:
            got_digest, got_size = blob.commit(digest, size)
        except BadInput as e:
            raise BadInput(f"{src.label}: {e}") from None
    return got_digest, got_size, layer.compression


def _check_member(member: tarfile.TarInfo) -> None:
    parts = clean_name(member.name)
    if member.islnk():
        clean_name(member.linkname)
    if parts and parts[-1].startswith(WHITEOUT_PREFIX) and parts[-1][len(WHITEOUT_PREFIX) :] in ("", ".", ".."):
        raise BadInput(f"whiteout {member.name!r} names no file")


def _read_docker(store: ImageStore, src: _Source) -> list[_Pending]:
    entries = src.read_json("manifest.json")
    if not isinstance(entries, list):
        raise BadInput(f"{src.label}: manifest.json is not a list of images")
    pending = []
    for entry in entries:
        try:
            config_name = entry["Config"]
            layer_names = list(entry["Layers"])
            tags = list(entry.get("RepoTags") or [])
        except (KeyError, TypeError):
            raise BadInput(f"{src.label}: manifest.json is malformed (Config, Layers)") from None
        with src.open(config_name) as f:
            config_bytes = f.read(imagespec.JSON_LIMIT)
        diff_ids = _diff_ids(src, config_bytes, len(layer_names))
        layers = []
        for name, diff_id in zip(layer_names, diff_ids, strict=True):
            with src.open(name) as f:
                digest, size, compression = _store_layer(store, src, f, None, None, diff_id)
            media = imagespec.LAYER_GZIP if compression == "gzip" else imagespec.LAYER_TAR
            layers.append({"mediaType": media, "digest": digest, "size": size})
        config_digest, config_size = store.put_blob(config_bytes)
        manifest = {
            "schemaVersion": 2,
            "mediaType": imagespec.MANIFEST,
            "config": {"mediaType": imagespec.CONFIG, "digest": config_digest, "size": config_size},
            "layers": layers,
        }
        names = []
        for tag in tags:
            try:
                ref = references.parse(tag)
            except BadInput as e:
                raise BadInput(f"{src.label}: {e}") from None
            names.append(str(ref))
        pending.append(_Pending(names, json.dumps(manifest, separators=(",", ":")).encode()))
    return pending
