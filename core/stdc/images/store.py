"""The local content store: an OCI image layout that skopeo and umoci read as it is.

Layout of ``root_dir``::

    oci-layout              {"imageLayoutVersion": "1.0.0"}
    index.json              one entry per tag: the manifest's descriptor, annotated with
                            org.opencontainers.image.ref.name = "name:tag"
    blobs/sha256/<hex>      manifests, configs and layers, named by their digest
    .stdc/index.lock        flock: serialises index.json updates between processes
    .stdc/gc.lock           flock: shared while blobs are being added, exclusive to collect garbage
    .stdc/ingest/           blobs being written; never visible as blobs

Crash safety follows from the order of writes: a blob is written to ``.stdc/ingest``, hashed
as it is written, fsynced and renamed into ``blobs/`` only once its digest is known (and checked);
an image becomes visible only when index.json, replaced atomically (temp + fsync + rename) under
the index lock, names its manifest — after every blob it needs is in place. A crash at any point
leaves at worst unreferenced blobs or temp files, which :meth:`ImageStore.collect_garbage` removes.

Adding an image takes several steps (layers, config, manifest, tag). Whoever adds one — an
importer, a registry backend — wraps those steps in ``with store.ingesting():`` so that garbage
collection by a concurrent ``rmi`` cannot remove a blob it has written but not yet tagged.
Without it nothing breaks silently: tagging checks, under the lock, that every blob is there.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar

from stdc.errors import BadInput, Conflict, NotFound
from stdc.kit import imagespec, references
from stdc.kit.imagespec import (
    CONFIG,
    INDEX,
    INDEX_TYPES,
    LAYER_TAR,
    MANIFEST,
    REF_NAME,
    Image,
    LayerDesc,
    host_platform,
)
from stdc.kit.references import DIGEST_RE, Reference

_CHUNK = 1 << 20
_ID_PREFIX_RE = re.compile(r"(?:sha256:)?([a-f0-9]{4,64})")
_T = TypeVar("_T")
#: marks an untagged index entry kept by the build's layer cache
BUILD_CACHE = "org.stdc.build.cache"


class BlobWriter:
    """A blob being written: hashed as it is written, visible only after :meth:`commit`.

    Use as a context manager; leaving it without a commit (or with an exception) removes the
    temp file. Holds the store's garbage-collection lock shared while open.
    """

    def __init__(self, store: ImageStore) -> None:
        import tempfile  # not needed by commands that only read the store

        self._store = store
        self._gc_fd = store._lock_fd("gc.lock", fcntl.LOCK_SH)
        try:
            self._fd, self._tmp = tempfile.mkstemp(prefix="blob-", dir=store._ingest_dir)
        except BaseException:
            os.close(self._gc_fd)
            raise
        self._hash = hashlib.sha256()
        self.size = 0
        self._open = True

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``; returns its length."""
        view = memoryview(data).cast("B")
        self._hash.update(view)
        total = len(view)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.size += total
        return total

    def commit(self, expected_digest: str | None = None, expected_size: int | None = None) -> tuple[str, int]:
        """Verify, fsync and rename the blob into place; return ``(digest, size)``.

        A digest or size other than the expected one raises ``BadInput`` and removes the temp file.
        """
        digest = "sha256:" + self._hash.hexdigest()
        try:
            if expected_size is not None and expected_size != self.size:
                raise BadInput(f"blob size mismatch: expected {expected_size} bytes, got {self.size}")
            if expected_digest is not None and expected_digest != digest:
                raise BadInput(f"blob digest mismatch: expected {expected_digest}, got {digest}")
            os.fchmod(self._fd, 0o644)
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            final = self._store.blob_path(digest)
            if os.path.exists(final):
                os.unlink(self._tmp)
            else:
                os.rename(self._tmp, final)
                _fsync_dir(os.path.dirname(final))
        except BaseException:
            self.abort()
            raise
        self._close()
        return digest, self.size

    def abort(self) -> None:
        """Throw the blob away (idempotent)."""
        if not self._open:
            return
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)
        self._close()

    def _close(self) -> None:
        if self._open:
            self._open = False
            os.close(self._gc_fd)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class ImageStore:
    """Images, tags and blobs in an OCI image layout at ``root_dir`` (created when missing)."""

    def __init__(self, root_dir: str) -> None:
        self.root = root_dir
        self._blob_dir = os.path.join(root_dir, "blobs", "sha256")
        self._private = os.path.join(root_dir, ".stdc")
        self._ingest_dir = os.path.join(self._private, "ingest")
        self._index_path = os.path.join(root_dir, "index.json")
        self._ensure_layout()

    # -- blobs ------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> str:
        """Where the blob ``digest`` lives (whether or not it exists). ``BadInput`` for a bad digest."""
        if not DIGEST_RE.fullmatch(digest):
            raise BadInput(f"invalid digest {digest!r}")
        return os.path.join(self._blob_dir, digest[7:])

    def has_blob(self, digest: str) -> bool:
        """Whether the blob ``digest`` is in the store (only whole, verified blobs ever are)."""
        return os.path.exists(self.blob_path(digest))

    def open_blob(self, digest: str) -> BinaryIO:
        """Open the blob ``digest`` for reading (binary, buffered); ``NotFound`` when missing."""
        try:
            return open(self.blob_path(digest), "rb", buffering=_CHUNK)  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise NotFound(f"blob {digest} is not in the image store") from None

    def blob_writer(self) -> BlobWriter:
        """Start writing a blob whose digest is computed as it is written (see :class:`BlobWriter`)."""
        return BlobWriter(self)

    def put_blob(
        self, data: bytes | BinaryIO, expected_digest: str | None = None, expected_size: int | None = None
    ) -> tuple[str, int]:
        """Store a blob from bytes or a binary stream (read to its end); return ``(digest, size)``.

        When ``expected_digest`` is given and that blob is already there, nothing is read.
        A mismatch raises ``BadInput`` and leaves nothing behind.
        """
        if expected_digest is not None and self.has_blob(expected_digest):
            return expected_digest, os.path.getsize(self.blob_path(expected_digest))
        with self.blob_writer() as writer:
            if isinstance(data, bytes | bytearray | memoryview):
                writer.write(data)
            else:
                while chunk := data.read(_CHUNK):
                    writer.write(chunk)
            return writer.commit(expected_digest, expected_size)

    @contextlib.contextmanager
    def ingesting(self) -> Iterator[None]:
        """Hold off garbage collection while blobs are added and tagged (see the module doc)."""
        fd = self._lock_fd("gc.lock", fcntl.LOCK_SH)
        try:
            yield
        finally:
            os.close(fd)

    # -- images -----------------------------------------------------------------------------

    def add_image(
        self, ref: str | Reference | None, config: dict[str, Any], layers: list[LayerDesc], build_cache: bool = False
    ) -> Image:
        """Write ``config`` and an OCI manifest over ``layers`` (blobs already stored), then tag it
        (``ref=None``: an untagged image, kept and found by its id until it is removed by id;
        ``build_cache``: an untagged step of a build, kept for the layer cache, never dangling).

        ``config["rootfs"]`` is filled in from the layers' diff ids (or must agree with them).
        """
        config = dict(config)
        diff_ids = [layer.diff_id for layer in layers]
        rootfs = config.get("rootfs")
        if rootfs is None:
            config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
        elif list(rootfs.get("diff_ids", [])) != diff_ids:
            raise BadInput("the image config's rootfs.diff_ids do not match its layers")
        config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
        with self.ingesting():
            config_digest, config_size = self.put_blob(config_bytes)
            manifest = {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": {"mediaType": CONFIG, "digest": config_digest, "size": config_size},
                "layers": [{"mediaType": ld.media_type, "digest": ld.digest, "size": ld.size} for ld in layers],
            }
            return self.add_manifest(ref, json.dumps(manifest, separators=(",", ":")).encode(), build_cache=build_cache)

    def add_manifest(
        self, ref: str | Reference | None, manifest: bytes, media_type: str | None = None, build_cache: bool = False
    ) -> Image:
        """Store a manifest (or image index) as it is and tag it ``ref``; every blob it names must
        already be in the store. For registry backends, which must keep a manifest byte for byte.
        ``ref=None`` adds it untagged (an index.json entry without a name)."""
        reference = _tag_ref(ref) if ref is not None else None
        try:
            doc = json.loads(manifest)
            is_index = (doc.get("mediaType") or media_type) in INDEX_TYPES or "manifests" in doc
            media = doc.get("mediaType") or media_type or (INDEX if is_index else MANIFEST)
            if is_index:
                needed = [m["digest"] for m in doc["manifests"]]
            else:
                needed = [doc["config"]["digest"]] + [layer["digest"] for layer in doc["layers"]]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise BadInput(f"malformed image manifest: {e}") from None
        with self.ingesting():
            digest, size = self.put_blob(manifest)
            desc: dict[str, Any] = {"mediaType": media, "digest": digest, "size": size}
            if reference is not None:
                desc["annotations"] = {REF_NAME: str(reference)}
            elif build_cache:
                desc["annotations"] = {BUILD_CACHE: "true"}

            def tag(index: dict[str, Any]) -> None:
                for needed_digest in needed:
                    if not self.has_blob(needed_digest):
                        raise NotFound(f"cannot tag {reference}: blob {needed_digest} is not in the image store")
                if reference is not None:
                    _set_tag(index, reference, desc)
                elif not any(d.get("digest") == digest for d in index["manifests"]):
                    index["manifests"].append(desc)

            self._update_index(tag)
        return self._load(desc, self.refs_of(digest))

    def resolve(self, ref_or_id: str) -> Image:
        """Find an image by ``name:tag``, ``name`` (``:latest``), ``name@digest``, manifest digest,
        image id (config digest) or a unique prefix of at least 4 hex digits of the image id."""
        entries = self._entries()
        text = ref_or_id
        if DIGEST_RE.fullmatch(text):
            for _name, desc in entries:
                if desc.get("digest") == text:
                    return self._load(desc, _refs_for(entries, text))
        parse_error: BadInput | None = None
        try:
            ref = references.parse(text)
        except BadInput as e:
            ref, parse_error = None, e
        if ref is not None and ref.digest is None:
            for name, desc in entries:
                if name == str(ref):
                    return self._load(desc, _refs_for(entries, desc["digest"]))
        elif ref is not None:
            for name, desc in entries:
                if desc.get("digest") == ref.digest and name and name.rsplit(":", 1)[0] == ref.name:
                    return self._load(desc, _refs_for(entries, ref.digest))
        id_match = _ID_PREFIX_RE.fullmatch(text)
        if id_match:
            found = self._by_id_prefix(entries, id_match.group(1))
            if found is not None:
                return found
        if parse_error is not None and not id_match:
            raise parse_error
        raise NotFound(f"no such image: {text}")

    def refs_of(self, image: Image | str) -> list[Reference]:
        """Every tag naming ``image`` (an :class:`Image` or a manifest digest)."""
        digest = image if isinstance(image, str) else image.manifest_digest
        return _refs_for(self._entries(), digest)

    def list_images(self) -> list[tuple[Reference, Image]]:
        """Every tag with its image, newest image first; images that cannot be read are left out."""
        entries = self._entries()
        loaded: dict[str, Image | None] = {}
        result = []
        for name, desc in entries:
            if not name:
                continue
            digest = desc.get("digest", "")
            if digest not in loaded:
                try:
                    loaded[digest] = self._load(desc, _refs_for(entries, digest))
                except (NotFound, BadInput):
                    loaded[digest] = None
            image = loaded[digest]
            if image is None:
                continue
            try:
                ref = references.parse(name)
            except BadInput:
                continue  # a name some other tool wrote that we cannot address anyway
            result.append((ref, image))
        result.sort(key=lambda pair: (-(pair[1].created_ts or 0), str(pair[0])))
        return result

    def dangling(self) -> list[Image]:
        """Every image the index keeps without a tag (docker's ``<none>:<none>``)."""
        entries = self._entries()
        tagged = {desc.get("digest") for name, desc in entries if name}
        found: dict[str, Image] = {}
        for name, desc in entries:
            digest = desc.get("digest", "")
            if name or digest in tagged or digest in found or _is_build_cache(desc):
                continue
            with contextlib.suppress(NotFound, BadInput):
                found[digest] = self._load(desc, [])
        return list(found.values())

    def build_cache(self) -> list[Image]:
        """The untagged steps of builds the layer cache keeps (see :meth:`add_image`)."""
        found: dict[str, Image] = {}
        for _name, desc in self._entries():
            if _is_build_cache(desc) and desc.get("digest") not in found:
                with contextlib.suppress(NotFound, BadInput):
                    found[desc["digest"]] = self._load(desc, [])
        return list(found.values())

    def drop_build_cache(self, digests: set[str]) -> None:
        """Forget the build-cache entries of these manifest digests (tags stay), then collect garbage."""

        def drop(index: dict[str, Any]) -> None:
            index["manifests"] = [
                d for d in index["manifests"] if not (_is_build_cache(d) and d.get("digest") in digests)
            ]

        self._update_index(drop)
        self.collect_garbage()

    def tag(self, source: str, new_ref: str | Reference) -> Image:
        """Give the image ``source`` (anything :meth:`resolve` takes) the name ``new_ref``."""
        image = self.resolve(source)
        reference = _tag_ref(new_ref)

        def tag(index: dict[str, Any]) -> None:
            for desc in index["manifests"]:
                if desc.get("digest") == image.manifest_digest and self.has_blob(image.manifest_digest):
                    new = {k: v for k, v in desc.items() if k != "annotations"}
                    new["annotations"] = {REF_NAME: str(reference)}
                    _set_tag(index, reference, new)
                    return
            raise NotFound(f"no such image: {source}")

        self._update_index(tag)
        image.refs = self.refs_of(image)
        return image

    def untag(self, ref: str | Reference) -> bool:
        """Remove the tag ``ref``; return whether its manifest is still tagged otherwise.

        Blobs stay until :meth:`collect_garbage`."""
        reference = _tag_ref(ref)

        def untag(index: dict[str, Any]) -> bool:
            manifests = index["manifests"]
            dropped = [d for d in manifests if _name_of(d) == str(reference)]
            if not dropped:
                raise NotFound(f"no such image: {reference}")
            index["manifests"] = [d for d in manifests if _name_of(d) != str(reference)]
            return any(d.get("digest") == dropped[0].get("digest") for d in index["manifests"])

        return self._update_index(untag)

    def make_dangling(self, image: Image, names: list[str]) -> None:
        """Untag ``names`` of ``image`` and keep it as an untagged entry, in one step: what
        ``rmi -f`` of an image a container uses leaves, as docker does (no blob goes)."""

        def untag(index: dict[str, Any]) -> None:
            mine = [d for d in index["manifests"] if d.get("digest") == image.manifest_digest]
            if not mine:
                raise NotFound(f"no such image: {image.id}")
            kept = [d for d in index["manifests"] if d not in mine or _name_of(d) not in names]
            if not any(d.get("digest") == image.manifest_digest for d in kept):
                kept.append({k: v for k, v in mine[0].items() if k != "annotations"})
            index["manifests"] = kept

        self._update_index(untag)

    def remove_image(self, ref_or_id: str, force: bool = False) -> str:
        """``rmi``: untag a name, or remove an image by id with all its tags, then collect garbage.

        By id, an image with several tags is a ``Conflict`` unless ``force``. Returns what was
        done, one ``Untagged: name:tag`` / ``Deleted: <image id>`` line each, as docker prints it.
        """
        image = self.resolve(ref_or_id)
        by_name: str | None = None
        with contextlib.suppress(BadInput):
            parsed = references.parse(ref_or_id)
            if parsed.tag is not None and any(str(r) == str(parsed) for r in image.refs):
                by_name = str(parsed)
        lines: list[str] = []

        def remove(index: dict[str, Any]) -> None:
            manifests = index["manifests"]
            if by_name is not None:
                drop = [d for d in manifests if _name_of(d) == by_name]
            else:
                drop = [d for d in manifests if d.get("digest") == image.manifest_digest]
                names = sorted({n for d in drop if (n := _name_of(d))})
                if len(names) > 1 and not force:
                    raise Conflict(
                        f"unable to remove image {ref_or_id}: it is tagged {', '.join(names)}; "
                        "remove a tag by name or force the removal"
                    )
            if not drop:
                raise NotFound(f"no such image: {ref_or_id}")
            index["manifests"] = [d for d in manifests if all(d is not x for x in drop)]
            lines.extend(f"Untagged: {n}" for d in drop if (n := _name_of(d)))
            if not any(d.get("digest") == image.manifest_digest for d in index["manifests"]):
                lines.append(f"Deleted: {image.id}")

        self._update_index(remove)
        self.collect_garbage()
        return "\n".join(lines)

    def collect_garbage(self) -> list[str]:
        """Remove every blob no tagged image needs, and leftovers of interrupted writes.

        Skipped (returns ``[]``) while another process is adding blobs; the next call catches up.
        Returns the digests removed.
        """
        gc_fd = self._lock_fd("gc.lock", fcntl.LOCK_EX | fcntl.LOCK_NB)
        if gc_fd < 0:
            return []
        removed = []
        try:
            with self._locked():
                keep = self._mark()
                for name in os.listdir(self._blob_dir):
                    digest = "sha256:" + name
                    if digest not in keep:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(os.path.join(self._blob_dir, name))
                        removed.append(digest)
                for name in os.listdir(self._ingest_dir):  # nobody is writing: we hold gc.lock
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(self._ingest_dir, name))
                for path in _temp_files(self._private):  # an index write killed half-way: we hold index.lock
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
                if removed:
                    _fsync_dir(self._blob_dir)
        finally:
            os.close(gc_fd)
        return removed

    def interrupted_writes(self) -> list[str]:
        """The ingest files no process is writing (it holds ``gc.lock`` shared while it does) and
        the temporary files of index writes no process is making (under ``index.lock``): what a
        killed pull, commit, import or load left; :meth:`collect_garbage` removes them."""
        if not (_temp_files(self._private) or os.listdir(self._ingest_dir)):
            return []
        gc_fd = self._lock_fd("gc.lock", fcntl.LOCK_EX | fcntl.LOCK_NB)
        if gc_fd < 0:
            return []
        try:
            with self._locked():
                found = [os.path.join(self._ingest_dir, name) for name in os.listdir(self._ingest_dir)]
                return sorted(found + _temp_files(self._private))
        finally:
            os.close(gc_fd)

    # -- internals ----------------------------------------------------------------------------

    def _ensure_layout(self) -> None:
        if os.path.exists(self._index_path) and os.path.isdir(self._ingest_dir):
            return
        for d in (self._blob_dir, self._ingest_dir):
            os.makedirs(d, mode=0o755, exist_ok=True)
        layout = os.path.join(self.root, "oci-layout")
        with self._locked():
            if not os.path.exists(layout):
                _atomic_write(layout, b'{"imageLayoutVersion":"1.0.0"}', self._private)
            if not os.path.exists(self._index_path):
                self._write_index({"schemaVersion": 2, "mediaType": INDEX, "manifests": []})

    def _lock_fd(self, name: str, how: int) -> int:
        """Open ``.stdc/<name>`` and flock it; -1 when ``LOCK_NB`` was asked for and it is busy."""
        fd = os.open(os.path.join(self._private, name), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, how)
        except BlockingIOError:
            os.close(fd)
            return -1
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = self._lock_fd("index.lock", fcntl.LOCK_EX)
        try:
            yield
        finally:
            os.close(fd)

    def _read_index(self) -> dict[str, Any]:
        try:
            with open(self._index_path, "rb") as f:
                index = json.load(f)
        except FileNotFoundError:
            return {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
        except ValueError as e:
            raise BadInput(f"{self._index_path} is not valid JSON: {e}") from None
        if not isinstance(index, dict) or not isinstance(index.get("manifests", []), list):
            raise BadInput(f"{self._index_path} is not an OCI image index")
        index.setdefault("manifests", [])
        return index

    def _write_index(self, index: dict[str, Any]) -> None:
        _atomic_write(self._index_path, json.dumps(index, separators=(",", ":")).encode(), self._private)

    def _update_index(self, mutate: Callable[[dict[str, Any]], _T]) -> _T:
        """Read, change and atomically replace index.json, serialised with other processes."""
        with self._locked():
            index = self._read_index()
            result = mutate(index)
            self._write_index(index)
        return result

    def _entries(self) -> list[tuple[str | None, dict[str, Any]]]:
        return [(_name_of(d), d) for d in self._read_index()["manifests"] if isinstance(d, dict)]

    def _read_json(self, digest: str) -> Any:
        with self.open_blob(digest) as f:
            return imagespec.read_json(f, f"blob {digest}")

    def _manifest_of(self, desc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The image manifest an index entry names, choosing this host's platform from an index."""
        digest = desc["digest"]
        doc = self._read_json(digest)
        for _depth in range(4):
            if (doc.get("mediaType") or desc.get("mediaType")) not in INDEX_TYPES and "manifests" not in doc:
                return digest, doc
            want = host_platform()
            for child in doc.get("manifests", []):
                plat = child.get("platform") or {}
                if plat.get("os") == want["os"] and plat.get("architecture") == want["architecture"]:
                    desc, digest = child, child["digest"]
                    doc = self._read_json(digest)
                    break
            else:
                raise NotFound(f"image index {desc['digest']} has no manifest for {want['os']}/{want['architecture']}")
        raise BadInput(f"image index {desc['digest']} nests too deeply")

    def _load(self, desc: dict[str, Any], names: list[Reference]) -> Image:
        try:
            _digest, manifest = self._manifest_of(desc)
            config_digest = manifest["config"]["digest"]
            config = self._read_json(config_digest)
            diff_ids = config.get("rootfs", {}).get("diff_ids", [])
            if len(diff_ids) != len(manifest["layers"]):
                raise BadInput(
                    f"image {desc['digest']}: its config lists {len(diff_ids)} layers, its manifest "
                    f"{len(manifest['layers'])}"
                )
            layers = [
                LayerDesc(lay["digest"], lay.get("mediaType", LAYER_TAR), int(lay["size"]), diff_id)
                for lay, diff_id in zip(manifest["layers"], diff_ids, strict=True)
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise BadInput(f"image {desc.get('digest')} is malformed: {e!r}") from None
        return Image(manifest_digest=desc["digest"], id=config_digest, config=config, layers=layers, refs=names)

    def _by_id_prefix(self, entries: list[tuple[str | None, dict[str, Any]]], prefix: str) -> Image | None:
        matches: dict[str, dict[str, Any]] = {}
        for _name, desc in entries:
            try:
                _digest, manifest = self._manifest_of(desc)
                image_id = manifest["config"]["digest"]
            except (NotFound, BadInput, KeyError, TypeError, AttributeError):
                continue
            if image_id[7:].startswith(prefix):
                matches.setdefault(image_id, desc)
        if len(matches) > 1:
            raise BadInput(f"image id prefix {prefix} is ambiguous: it matches {len(matches)} images")
        if not matches:
            return None
        desc = next(iter(matches.values()))
        return self._load(desc, _refs_for(entries, desc["digest"]))

    def _mark(self) -> set[str]:
        """Every blob digest a tagged manifest needs (manifests, indexes, configs, layers)."""
        keep: set[str] = set()
        todo = [d.get("digest") for d in self._read_index()["manifests"] if isinstance(d, dict)]
        while todo:
            digest = todo.pop()
            if not isinstance(digest, str) or digest in keep or not DIGEST_RE.fullmatch(digest):
                continue
            keep.add(digest)
            try:
                doc = self._read_json(digest)
            except (NotFound, BadInput):
                continue
            if not isinstance(doc, dict):
                continue
            todo += [m.get("digest") for m in doc.get("manifests") or [] if isinstance(m, dict)]
            blobs = [doc.get("config")] + list(doc.get("layers") or [])
            keep.update(b["digest"] for b in blobs if isinstance(b, dict) and isinstance(b.get("digest"), str))
        return keep


def _is_build_cache(desc: dict[str, Any]) -> bool:
    return (desc.get("annotations") or {}).get(BUILD_CACHE) == "true"


def _name_of(desc: dict[str, Any]) -> str | None:
    name = (desc.get("annotations") or {}).get(REF_NAME)
    return name if isinstance(name, str) else None


def _refs_for(entries: list[tuple[str | None, dict[str, Any]]], digest: str) -> list[Reference]:
    found = []
    for name, desc in entries:
        if name and desc.get("digest") == digest:
            with contextlib.suppress(BadInput):
                found.append(references.parse(name))
    return found


def _tag_ref(ref: str | Reference) -> Reference:
    reference = references.parse(ref) if isinstance(ref, str) else ref
    if reference.tag is None:
        raise BadInput(f"cannot tag an image as {reference}: a tag is needed, not a digest")
    return reference


def _set_tag(index: dict[str, Any], reference: Reference, desc: dict[str, Any]) -> None:
    """Point the tag ``reference`` at ``desc``: replaces what it named before."""
    index["manifests"] = [d for d in index["manifests"] if _name_of(d) != str(reference)] + [desc]


def _temp_files(directory: str) -> list[str]:
    """The temporary files :func:`_atomic_write` makes in ``directory`` (``.tmp-*``)."""
    return [os.path.join(directory, n) for n in os.listdir(directory) if n.startswith(".tmp-")]


def _atomic_write(path: str, data: bytes, tmp_dir: str) -> None:
    """Replace ``path`` with ``data``: temp file + fsync + rename + fsync of the directory."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=tmp_dir)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, 0o644)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.rename(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(os.path.dirname(path) or ".")


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as e:  # some filesystems refuse fsync on directories
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(fd)
