"""Images, networks and volumes as the Docker Engine API describes them: ImageInspect,
ImageSummary (``GET /images/json``), Network and Volume; containers are in
:mod:`stdc.engine.docker_documents`, which offers these too.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from stdc.engine.docker_shapes import ZERO_TIME, iso
from stdc.errors import StdcError

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.kit.imagespec import Image


def image_inspect(engine: Engine, name: str) -> dict:
    """The image ``name`` (reference, id or unique id prefix) as the API's ImageInspect."""
    image = engine.store.resolve(name)
    config = image.config
    refs = [str(r) for r in engine.store.refs_of(image)]
    history = [h for h in config.get("history") or [] if isinstance(h, dict)]
    own = config.get("config") or {}
    image_config = {
        "User": "", "ExposedPorts": None, "Env": None, "Cmd": None, "Volumes": None, "WorkingDir": "",
        "Entrypoint": None, "OnBuild": None, "Labels": None, **own,
    }  # fmt: skip
    document = {
        "Id": image.id,
        "RepoTags": refs,
        "RepoDigests": _repo_digests(refs, image),
        "Parent": "",
        "Comment": next((h.get("comment", "") for h in reversed(history)), ""),
        "Created": config.get("created") or ZERO_TIME,
        "DockerVersion": "",
        "Author": config.get("author", ""),
        "Config": image_config,
        "Architecture": config.get("architecture", ""),
        "Os": config.get("os", ""),
        "Size": image.size,
        "GraphDriver": {"Name": engine.config.backends.get("storage", ""), "Data": None},
        "RootFS": {"Type": "layers", "Layers": list((config.get("rootfs") or {}).get("diff_ids") or [])},
        "Metadata": {"LastTagTime": ZERO_TIME},
        "Descriptor": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": image.manifest_digest,
            "size": _manifest_size(engine, image),
        },
    }
    if config.get("variant"):
        document["Variant"] = config["variant"]
    return document


def _manifest_size(engine: Engine, image: Image) -> int:
    try:
        return os.path.getsize(engine.store.blob_path(image.manifest_digest))
    except OSError:
        return 0


def _repo_digests(refs: list[str], image: Image) -> list[str]:
    repos = dict.fromkeys(ref.rpartition(":")[0] if "@" not in ref else ref.partition("@")[0] for ref in refs)
    return [f"{repo}@{image.manifest_digest}" for repo in repos if repo]


def image_summaries(engine: Engine, all: bool = True) -> list[dict]:
    """Every image, tagged or not, as ``GET /images/json`` lists them (ImageSummary), newest
    first; ``Containers`` counts the containers made from each."""
    users: dict[str, int] = {}
    for c in engine.state.all():
        users[c.image_id] = users.get(c.image_id, 0) + 1
    by_id: dict[str, tuple[Image, list[str]]] = {}
    for ref, image in engine.store.list_images():
        by_id.setdefault(image.id, (image, []))[1].append(str(ref))
    for image in engine.store.dangling() if all else []:
        by_id.setdefault(image.id, (image, []))
    rows = [image_summary(image, refs, users.get(image.id, 0)) for image, refs in by_id.values()]
    rows.sort(key=lambda r: -r["Created"])
    return rows


def image_summary(image: Image, refs: list[str], containers: int = -1) -> dict:
    """One image as an ImageSummary."""
    return {
        "Id": image.id,
        "ParentId": "",
        "RepoTags": refs,
        "RepoDigests": _repo_digests(refs, image),
        "Created": int(image.created_ts or 0),
        "Size": image.size,
        "SharedSize": -1,
        "VirtualSize": image.size,
        "Labels": (image.config.get("config") or {}).get("Labels") or {},
        "Containers": containers,
    }


def network_inspect(engine: Engine, name: str) -> dict:
    """The network ``name`` as the API's Network document."""
    from stdc.engine import networks

    found = networks.inspect(engine, [name])[0]
    subnet, gateway = found.get("Subnet") or "", found.get("Gateway") or ""
    created = found.get("Created")
    attached = {}
    for cid, entry in (found.get("Containers") or {}).items():
        info: dict = {}
        with contextlib.suppress(StdcError):
            info = engine.state.get(cid).network
        prefix = f"/{info['prefixlen']}" if info.get("prefixlen") else ""
        address = entry.get("IPv4Address", "")
        attached[cid] = {
            "Name": entry.get("Name", ""),
            "EndpointID": entry.get("EndpointID") or info.get("veth", ""),
            "MacAddress": info.get("mac", ""),
            "IPv4Address": address if "/" in address or not address else address + prefix,
            "IPv6Address": "",
        }
    return {
        "Name": found["Name"],
        "Id": found.get("Id") or found["Name"],
        "Created": iso(created) if isinstance(created, (int, float)) else created or ZERO_TIME,
        "Scope": "local",
        "Driver": found.get("Driver", ""),
        "EnableIPv4": True,
        "EnableIPv6": False,
        "IPAM": {
            "Driver": "default",
            "Options": None,
            "Config": [{"Subnet": subnet, "Gateway": gateway}] if subnet else [],
        },
        "Internal": False,
        "Attachable": False,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": attached,
        "Options": {"com.docker.network.bridge.name": found["Bridge"]} if found.get("Bridge") else {},
        "Labels": found.get("Labels") or {},
    }


def volume_inspect(engine: Engine, name: str) -> dict:
    """The named volume ``name`` as the API's Volume document."""
    from stdc.engine import volumes

    found = volumes.inspect(engine, [name])[0]
    return {
        "CreatedAt": found["CreatedAt"],
        "Driver": found["Driver"],
        "Labels": found.get("Labels") or {},
        "Mountpoint": found["Mountpoint"],
        "Name": found["Name"],
        "Options": found.get("Options") or {},
        "Scope": found.get("Scope", "local"),
    }
