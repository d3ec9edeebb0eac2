"""Pull: the manifest (from an image index, the one for the platform asked for), then the config
and the layers concurrently, each streamed into the store's verifying blob writer.

A blob becomes visible only once its digest and size are checked (:class:`BlobWriter`); the
image is tagged only once every blob is in. Any failure — a cut connection, wrong bytes, an
error status, a timeout, Ctrl-C — throws away what this pull wrote, so the next pull starts
clean and nothing half-downloaded is ever listed.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from stdc.errors import BadInput, NotFound
from stdc.kit import imagespec, references
from stdc.kit.imagespec import CONFIG_TYPES, LAYER_TYPES

from stdc_registry_oci import sources
from stdc_registry_oci.client import Registry, RegistryError

ACCEPT = ", ".join((imagespec.MANIFEST, imagespec.DOCKER_MANIFEST, imagespec.INDEX, imagespec.DOCKER_LIST))
MANIFEST_LIMIT = 4 << 20  # what distribution itself accepts
DEFAULT_PARALLEL = 4
_BUFFER = 1 << 20
RESUMES = 3  # a blob whose connection is cut is resumed this many times
_REDIRECTS = (301, 302, 303, 307, 308)


def pull(
    remote: str, local: str | None, store: Any, platform: str | None, settings: dict, home: str, progress: Any
) -> str:
    """See :func:`stdc.specs.registry.registry_pull`."""
    ref = references.parse(remote)
    host, repo = ref.domain or "", ref.path
    want = parse_platform(platform)
    registry = Registry(host, settings)
    scope = (f"repository:{repo}:pull",)
    try:
        try:
            with store.ingesting():
                digest, data, media = _image_manifest(registry, repo, ref, want, scope)
                blobs = _blobs(registry.host, digest, json.loads(data))
                _download_all(registry, repo, store, blobs, scope, progress, int(settings.get("parallel") or 0))
                store.add_manifest(local, data, media)
        except BaseException:
            store.collect_garbage()
            raise
    finally:
        registry.close()
    sources.remember(home, host, repo, [b["digest"] for b in blobs])
    return digest


def parse_platform(text: str | None) -> dict[str, str]:
    """``os/arch[/variant]`` as an OCI platform; ``None``: this host's."""
    if not text:
        return imagespec.host_platform()
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise BadInput(f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/amd64")
    found = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        found["variant"] = parts[2]
    return found


def fetch_manifest(registry: Registry, repo: str, reference: str, scope: tuple[str, ...]) -> tuple[str, bytes, str]:
    """GET a manifest or index by tag or digest, checked against its digest: ``(digest, bytes,
    media type)``."""
    by_digest = reference.startswith("sha256:")
    what = f"{repo}@{reference}" if by_digest else f"{repo}:{reference}"
    response = registry.request(
        "GET", f"/v2/{repo}/manifests/{reference}", scope, headers={"Accept": ACCEPT}, what=what
    )
    with registry.errors():
        data = response.read(MANIFEST_LIMIT + 1)
    if len(data) > MANIFEST_LIMIT:
        raise RegistryError(f"registry {registry.host} sent a manifest larger than {MANIFEST_LIMIT} bytes")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    claimed = response.getheader("Docker-Content-Digest")
    if (by_digest and digest != reference) or (claimed and claimed.startswith("sha256:") and claimed != digest):
        raise RegistryError(f"registry {registry.host} sent a manifest for {what} that does not match its digest")
    try:
        doc = json.loads(data)
    except ValueError:
        raise RegistryError(f"registry {registry.host} sent a manifest that is not JSON") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"registry {registry.host} sent a manifest that is not a JSON object")
    media = doc.get("mediaType") or (response.getheader("Content-Type") or "").split(";")[0].strip()
    return digest, data, media


def _image_manifest(
    registry: Registry, repo: str, ref: references.Reference, want: dict[str, str], scope: tuple[str, ...]
) -> tuple[str, bytes, str]:
    """The image manifest ``ref`` names, through image indexes."""
    reference = ref.digest or ref.tag or references.DEFAULT_TAG
    for _depth in range(3):
        digest, data, media = fetch_manifest(registry, repo, reference, scope)
        if media in imagespec.MANIFEST_TYPES:
            return digest, data, media
        if media not in imagespec.INDEX_TYPES:
            if "distribution.manifest.v1" in media:
                raise BadInput(f"{repo}:{reference} has a schema 1 manifest, which stdc does not pull")
            raise BadInput(f"{repo}:{reference}: unknown manifest media type {media!r}")
        child = _child(json.loads(data), want)
        if child is None:
            wanted = "/".join(v for v in (want["os"], want["architecture"], want.get("variant")) if v)
            raise NotFound(f"{repo}:{reference} has no image for {wanted}")
        reference = child
    raise BadInput(f"{repo}: image indexes nest too deeply")


def _child(index: dict, want: dict[str, str]) -> str | None:
    """The digest of the index entry for ``want`` (:func:`imagespec.choose_platform`), checked."""
    child = imagespec.choose_platform(index, want)
    digest = child.get("digest") if child else None
    return digest if isinstance(digest, str) and references.DIGEST_RE.fullmatch(digest) else None


def _blobs(host: str, digest: str, manifest: dict) -> list[dict]:
    """The config and layer descriptors of an image manifest, checked; each blob once."""
    try:
        config = manifest["config"]
        layers = list(manifest["layers"])
        descriptors = [config, *layers]
        for desc in descriptors:
            if (
                not references.DIGEST_RE.fullmatch(desc["digest"])
                or not isinstance(desc["size"], int)
                or desc["size"] < 0
            ):
                raise ValueError(desc)
    except (KeyError, TypeError, ValueError):
        raise BadInput(f"manifest {digest} from {host} is malformed (config, layers, digest, size)") from None
    if config.get("mediaType") not in CONFIG_TYPES:
        raise BadInput(f"manifest {digest} from {host}: unknown config media type {config.get('mediaType')!r}")
    for layer in layers:
        if layer.get("mediaType") not in LAYER_TYPES:
            raise BadInput(f"manifest {digest} from {host}: unsupported layer media type {layer.get('mediaType')!r}")
    unique: dict[str, dict] = {}
    for desc in descriptors:
        unique.setdefault(desc["digest"], desc)
    return list(unique.values())


class _Stopped(Exception):
    """Another download failed: this one stops."""


def _download_all(
    registry: Registry, repo: str, store: Any, blobs: list[dict], scope: tuple[str, ...], progress: Any, parallel: int
) -> None:
    stop = threading.Event()
    todo = sorted(blobs, key=lambda d: -d["size"])  # the longest first: they decide the total time
    pool = ThreadPoolExecutor(max_workers=max(1, parallel or DEFAULT_PARALLEL))
    try:
        futures = [pool.submit(_download, registry, repo, store, d, scope, progress, stop) for d in todo]
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        errors = [e for f in done if (e := f.exception()) is not None]
        if errors:
            raise errors[0]
    except BaseException:
        # a failure or Ctrl-C: stop the other downloads now (a blocked read wakes when its
        # connection is shut down), so that their writers are gone before the caller cleans up
        stop.set()
        registry.abort()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _download(
    registry: Registry, repo: str, store: Any, desc: dict, scope: tuple[str, ...], progress: Any, stop: threading.Event
) -> None:
    """Stream one blob into the store; a connection cut mid-blob is resumed (a ``Range`` request
    from where it stopped, up to :data:`RESUMES` times), and the digest checked over the whole."""
    digest, size = desc["digest"], desc["size"]
    short = digest[7:19]
    if store.has_blob(digest):
        progress(short, size, size)
        return
    progress(short, 0, size)
    try:
        with store.blob_writer() as writer:
            done = resumes = 0
            while True:
                response = _open_blob(registry, repo, digest, size, scope, done)
                done = _copy(registry, response, writer, digest, size, done, progress, stop)
                if done == size:
                    break
                registry.discard()
                if resumes == RESUMES:
                    raise RegistryError(
                        f"registry {registry.host} cut the connection after {done} of {size} bytes of {short}"
                    )
                resumes += 1
            try:
                writer.commit(digest, size)
            except BadInput as e:
                raise RegistryError(f"registry {registry.host} sent wrong bytes: {e}") from None
    except BaseException:
        registry.discard()  # the body may be half read: this connection cannot be reused
        raise


def _open_blob(
    registry: Registry, repo: str, digest: str, size: int, scope: tuple[str, ...], offset: int
) -> http.client.HTTPResponse:
    """GET the blob (from ``offset`` on: a ``Range`` request), following a redirect to storage;
    the response's body starts at ``offset`` (a registry that ignored the range has its first
    bytes skipped)."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    response = registry.request(
        "GET", f"/v2/{repo}/blobs/{digest}", scope, headers, expect=(200, 206, *_REDIRECTS), what=f"blob {digest}"
    )
    if response.status in _REDIRECTS:
        location = response.getheader("Location") or ""
        with registry.errors():
            response.read()
        response = registry.open_url(_absolute(registry, location), {"User-Agent": "stdc", **headers})
        if response.status not in (200, 206):
            raise RegistryError(f"registry {registry.host}: blob {digest}: storage answered {response.status}")
    length = response.getheader("Content-Length")
    start = offset if response.status == 206 else 0
    if response.status == 206 and not (response.getheader("Content-Range") or "").startswith(f"bytes {offset}-"):
        raise RegistryError(f"registry {registry.host} answered a resumed download of {digest} with another range")
    if length is not None and length.isdigit() and start + int(length) != size:
        raise RegistryError(f"registry {registry.host} sent {length} bytes for blob {digest} of {size}")
    with registry.errors():
        skip = offset - start
        while skip:
            skipped = len(response.read(min(skip, _BUFFER)))
            if not skipped:
                raise RegistryError(f"registry {registry.host} cut the connection while resuming {digest}")
            skip -= skipped
    return response


def _copy(
    registry: Registry,
    response: http.client.HTTPResponse,
    writer: Any,
    digest: str,
    size: int,
    done: int,
    progress: Any,
    stop: threading.Event,
) -> int:
    """Write the body into ``writer``; return how many bytes of the blob it now holds (less
    than ``size`` when the connection was cut)."""
    buffer = memoryview(bytearray(_BUFFER))
    with registry.errors():
        while True:
            try:
                n = response.readinto(buffer)
            except (http.client.IncompleteRead, ConnectionResetError, ssl.SSLEOFError):
                if stop.is_set():
                    raise _Stopped from None
                return done
            if stop.is_set():
                raise _Stopped
            if not n:
                return done
            writer.write(buffer[:n])
            done += n
            if done > size:
                raise RegistryError(f"registry {registry.host} sent more than {size} bytes for blob {digest}")
            progress(digest[7:19], done, size)


def _absolute(registry: Registry, location: str) -> str:
    if "://" in location:
        return location
    return f"{registry.scheme}://{registry.host}{location if location.startswith('/') else '/' + location}"
