"""Push: every blob the registry lacks (asked with HEAD), mounted from another repository of
the same registry when one is known to hold it, else uploaded — in one PUT when it fits in a
chunk, else in PATCHed chunks — then the manifest, byte for byte as the store keeps it.

Settings: ``chunk_size`` (bytes, default 16 MiB): blobs up to it go in one request;
``parallel``: blobs moved at once (default 4).
"""

from __future__ import annotations

import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from stdc.errors import BadInput, NotFound
from stdc.kit import imagespec, references

from stdc_registry_oci import sources
from stdc_registry_oci.client import Registry, RegistryError
from stdc_registry_oci.pull import DEFAULT_PARALLEL

DEFAULT_CHUNK = 16 << 20


def push(local: str, remote: str, store: Any, settings: dict, home: str, progress: Any) -> str:
    """See :func:`stdc.specs.registry.registry_push`."""
    image = store.resolve(local)
    digest, data = _image_manifest(store, image.manifest_digest)
    manifest = json.loads(data)
    media = manifest.get("mediaType") or imagespec.MANIFEST
    ref = references.parse(remote)
    host, repo = ref.domain or "", ref.path
    blobs = list({d["digest"]: d for d in [manifest["config"], *manifest["layers"]]}.values())
    chunk = int(settings.get("chunk_size") or DEFAULT_CHUNK)
    registry = Registry(host, settings)
    scope = (f"repository:{repo}:pull,push",)
    try:
        with ThreadPoolExecutor(max_workers=int(settings.get("parallel") or DEFAULT_PARALLEL)) as pool:
            futures = [pool.submit(_upload, registry, repo, store, d, scope, home, chunk, progress) for d in blobs]
            for future in futures:
                future.result()
        target = ref.tag or ref.digest or digest
        response = registry.request(
            "PUT",
            f"/v2/{repo}/manifests/{target}",
            scope,
            headers={"Content-Type": media},
            body=data,
            expect=(200, 201),
            what=f"{repo}:{target}",
        )
        with registry.errors():
            response.read()
        claimed = response.getheader("Docker-Content-Digest")
        if claimed and claimed != digest:
            raise RegistryError(f"registry {host} stored the manifest as {claimed}, not {digest}")
    finally:
        registry.close()
    sources.remember(home, host, repo, [d["digest"] for d in blobs])
    return digest


def _image_manifest(store: Any, digest: str) -> tuple[str, bytes]:
    """The manifest bytes of a stored image (this host's entry when it is an image index)."""
    for _depth in range(3):
        with store.open_blob(digest) as f:
            data = f.read()
        doc = json.loads(data)
        if "manifests" not in doc:
            return digest, data
        child = imagespec.choose_platform(doc)
        if child is None:
            raise NotFound(f"image index {digest} has no manifest for this host's platform")
        digest = child["digest"]
    raise BadInput(f"image index {digest} nests too deeply")


def _upload(
    registry: Registry,
    repo: str,
    store: Any,
    desc: dict,
    scope: tuple[str, ...],
    home: str,
    chunk: int,
    progress: Any,
) -> None:
    digest, size = desc["digest"], desc["size"]
    short = digest[7:19]
    what = f"blob {digest}"
    head = registry.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope, expect=(200, 404), what=what)
    head.read()
    if head.status == 200:
        progress(short, size, size)
        return
    location = None
    for source in sources.lookup(home, registry.host, digest):
        if source == repo:
            continue
        query = urllib.parse.urlencode({"mount": digest, "from": source})
        mount_scope = (*scope, f"repository:{source}:pull")
        answer = registry.request(
            "POST", f"/v2/{repo}/blobs/uploads/?{query}", mount_scope, body=b"", expect=(201, 202)
        )
        answer.read()
        if answer.status == 201:
            progress(short, size, size)
            return
        location = answer.getheader("Location")  # not mounted: the registry opened an upload instead
        break
    if location is None:
        answer = registry.request("POST", f"/v2/{repo}/blobs/uploads/", scope, body=b"", expect=(202,), what=what)
        answer.read()
        location = answer.getheader("Location")
    progress(short, 0, size)
    with store.open_blob(digest) as f:
        if size <= chunk:
            answer = registry.request(
                "PUT",
                _with_digest(registry, location, digest),
                scope,
                headers={"Content-Type": "application/octet-stream"},
                body=f.read(),
                expect=(201,),
                what=what,
            )
        else:
            offset = 0
            while offset < size:
                data = f.read(chunk)
                if not data:
                    raise BadInput(f"blob {digest} is shorter in the store than its manifest says")
                answer = registry.request(
                    "PATCH",
                    _path(registry, location),
                    scope,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + len(data) - 1}",
                    },
                    body=data,
                    expect=(202,),
                    what=what,
                )
                answer.read()
                location = answer.getheader("Location") or location
                offset += len(data)
                progress(short, offset, size)
            answer = registry.request(
                "PUT", _with_digest(registry, location, digest), scope, body=b"", expect=(201,), what=what
            )
        answer.read()
    progress(short, size, size)


def _path(registry: Registry, location: str | None) -> str:
    """The path (and query) of an upload ``Location``, which must be on this registry."""
    if not location:
        raise RegistryError(f"registry {registry.host} started an upload without saying where")
    parts = urllib.parse.urlsplit(location)
    if parts.netloc and parts.netloc != registry.host:
        raise RegistryError(f"registry {registry.host} sent an upload to another host ({parts.netloc})")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _with_digest(registry: Registry, location: str | None, digest: str) -> str:
    path = _path(registry, location)
    return path + ("&" if "?" in path else "?") + urllib.parse.urlencode({"digest": digest})
