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


#: the label docker (23+) marks anonymous volumes with, as `-v /data` and an image's VOLUME make them
ANONYMOUS_VOLUME_LABEL = "com.docker.volume.anonymous"


def volume_inspect(engine: Engine, name: str) -> dict:
    """The named volume ``name`` as the API's Volume document."""
    from stdc.engine import volumes

    found = volumes.inspect(engine, [name])[0]
    labels = dict(found.get("Labels") or {})
    if found.get("Anonymous"):
        labels[ANONYMOUS_VOLUME_LABEL] = ""
    return {
        "CreatedAt": found["CreatedAt"],
        "Driver": found["Driver"],
        "Labels": labels,
        "Mountpoint": found["Mountpoint"],
        "Name": found["Name"],
        "Options": found.get("Options") or {},
        "Scope": found.get("Scope", "local"),
    }


#: the Docker Engine API version stdc's documents follow, and the oldest a client may speak
API_VERSION = "1.43"
MIN_API_VERSION = "1.24"


def version_document() -> dict:
    """``GET /version`` (and ``stdc version``'s Server): stdc's version, the API's, the host's."""
    import platform
    import sys

    from stdc import __version__
    from stdc.kit.imagespec import host_platform

    return {
        "Platform": {"Name": "stdc"},
        "Components": [{"Name": "Engine", "Version": __version__, "Details": {"ApiVersion": API_VERSION}}],
        "Version": __version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": f"python{sys.version_info.major}.{sys.version_info.minor}",
        "Os": "linux",
        "Arch": host_platform()["architecture"],
        "KernelVersion": platform.release(),
        "BuildTime": "",
    }


def info_document(engine: Engine) -> dict:
    """The fields of ``GET /info`` that stdc has: counts of containers and images, the storage
    driver, the root, the host (docker's names)."""
    import platform

    from stdc import __version__
    from stdc.kit.imagespec import host_platform

    records = [engine.refresh(c) for c in engine.state.all()]
    running = sum(1 for c in records if c.running and not c.paused)
    paused = sum(1 for c in records if c.running and c.paused)
    images = {image.id for _ref, image in engine.store.list_images()} | {i.id for i in engine.store.dangling()}
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "ID": "",
        "Containers": len(records),
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": len(records) - running - paused,
        "Images": len(images),
        "Driver": engine.config.backends.get("storage", ""),
        "DriverStatus": [],
        "Name": platform.node(),
        "ServerVersion": __version__,
        "OperatingSystem": _os_name(),
        "OSType": "linux",
        "Architecture": platform.machine(),
        "KernelVersion": platform.release(),
        "NCPU": os.cpu_count() or 0,
        "MemTotal": memory,
        "DockerRootDir": engine.root,
        "CgroupVersion": "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1",
        "DefaultRuntime": engine.config.backends.get("exec", ""),
        "Runtimes": {engine.config.backends.get("exec", ""): {"path": ""}},
        "Labels": [],
        "Platform": host_platform(),
    }


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            fields = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    except OSError:
        return "Linux"
    return fields.get("PRETTY_NAME", "Linux").strip('"')
