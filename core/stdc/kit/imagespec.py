"""OCI image-spec vocabulary: media types, layer descriptors, the :class:`Image` record, chain ids.

Pure data and small helpers; the content store (:mod:`stdc.images.store`) reads and writes
these, and nothing here touches the disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from stdc.kit.references import Reference

#: Manifests, indexes and configs larger than this are not ones we want to parse.
JSON_LIMIT = 8 << 20


def read_json(stream: Any, what: str) -> Any:
    """A manifest, index or config read from ``stream``: at most :data:`JSON_LIMIT` bytes of valid
    JSON, else ``BadInput`` naming ``what``."""
    import json

    from stdc.errors import BadInput

    data = stream.read(JSON_LIMIT + 1)
    if len(data) > JSON_LIMIT:
        raise BadInput(f"{what} is too large for a manifest or config")
    try:
        return json.loads(data)
    except ValueError as e:
        raise BadInput(f"{what} is not valid JSON: {e}") from None


MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

MANIFEST_TYPES = (MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (INDEX, DOCKER_LIST)

#: The annotation on an index.json entry that names it (``name:tag``), read by skopeo and umoci.
REF_NAME = "org.opencontainers.image.ref.name"

#: Docker's default PATH, what an image gets when it says nothing else.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x"}


@dataclass(frozen=True)
class LayerDesc:
    """One layer of an image: the blob as stored (``digest``, ``media_type``, ``size``) and the
    digest of its uncompressed tar (``diff_id``)."""

    digest: str
    media_type: str
    size: int
    diff_id: str


@dataclass
class Image:
    """An image in the store: a manifest, its config and its layers, bottom layer first."""

    manifest_digest: str
    id: str
    config: dict[str, Any]
    layers: list[LayerDesc]
    refs: list[Reference] = field(default_factory=list)

    @property
    def ref(self) -> Reference | None:
        """The first name the image is tagged with, if any."""
        return self.refs[0] if self.refs else None

    @property
    def created(self) -> str | None:
        """When the image was made, as its config says (RFC 3339), if it says."""
        return self.config.get("created")

    @property
    def created_ts(self) -> float | None:
        """:attr:`created` as a Unix timestamp."""
        return parse_time(self.created) if self.created else None

    @property
    def size(self) -> int:
        """Bytes the layers take in the store (as stored, compressed or not)."""
        return sum(layer.size for layer in self.layers)

    def chain_ids(self) -> list[str]:
        """The OCI chain ids of the layers, bottom first: each names a layer *and* all below it."""
        return chain_ids([layer.diff_id for layer in self.layers])


def chain_ids(diff_ids: list[str]) -> list[str]:
    """chain[0] = diff_id[0]; chain[n] = sha256(chain[n-1] + " " + diff_id[n])."""
    chain: list[str] = []
    for diff_id in diff_ids:
        if chain:
            chain.append("sha256:" + hashlib.sha256(f"{chain[-1]} {diff_id}".encode()).hexdigest())
        else:
            chain.append(diff_id)
    return chain


def host_platform() -> dict[str, str]:
    """``{"architecture": …, "os": "linux"}`` in OCI's (Go's) names for this host."""
    machine = os.uname().machine
    return {"architecture": _ARCH.get(machine, machine), "os": "linux"}


def now() -> str:
    """The current time in RFC 3339 with nanoseconds, UTC, as Go writes it."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def parse_time(text: str) -> float | None:
    """An RFC 3339 time (any number of fraction digits) as a Unix timestamp; ``None`` if unreadable."""
    import datetime  # only listing images needs it

    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text.strip())
    if not m:
        return None
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        whole = datetime.datetime.fromisoformat(m.group(1) + zone).timestamp()
    except ValueError:
        return None
    return whole + float("0." + m.group(2)) if m.group(2) else whole


DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
#: Layer media types stdc reads (OCI and Docker v2 schema 2), for every image source.
LAYER_TYPES = {
    LAYER_TAR,
    LAYER_GZIP,
    LAYER_ZSTD,
    DOCKER_LAYER_GZIP,
    DOCKER_LAYER_TAR,
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
}
CONFIG_TYPES = {CONFIG, DOCKER_CONFIG}


def choose_platform(index: dict[str, Any], want: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The descriptor in an image index for the platform ``want`` (``os``, ``architecture`` and,
    only when given, ``variant``; default this host's), or ``None``."""
    want = want or host_platform()
    for child in index.get("manifests") or []:
        plat = (child.get("platform") or {}) if isinstance(child, dict) else {}
        if plat.get("os") != want["os"] or plat.get("architecture") != want["architecture"]:
            continue
        if want.get("variant") and plat.get("variant") != want["variant"]:
            continue
        return child
    return None
