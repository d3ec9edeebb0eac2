"""``/_ping``, ``/version``, ``/info``, ``/system/df`` and ``/auth``."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from stdc.dockerapi.request_kit import Routes, common_headers, json_body, workers

if TYPE_CHECKING:
    from stdc.engine import Engine


async def ping(request: web.Request) -> web.Response:
    """``GET``/``HEAD /_ping``: ``OK`` and the headers a client negotiates its version from."""
    headers = {**common_headers(), "Cache-Control": "no-cache, no-store, must-revalidate", "Pragma": "no-cache"}
    body = None if request.method == "HEAD" else "OK"
    return web.Response(text=body, content_type="text/plain", headers=headers)


async def version(_request: web.Request) -> web.Response:
    """``GET /version``."""
    from stdc.engine import docker_objects

    return web.json_response(docker_objects.version_document())


def info_document(engine: Engine) -> dict[str, Any]:
    """What ``GET /info`` answers: the engine's document, with what dockerd adds that clients read
    (plugins, limits the kernel offers, no swarm)."""
    from stdc.engine import docker_objects

    return {
        "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Authorization": None, "Log": []},
        "MemoryLimit": True,
        "SwapLimit": True,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": True,
        "IPv4Forwarding": True,
        "Debug": False,
        "NFd": len(os.listdir("/proc/self/fd")),
        "NGoroutines": 0,
        "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime()),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "OSVersion": "",
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "ExperimentalBuild": False,
        "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": False},
        "LiveRestoreEnabled": True,
        "Isolation": "",
        "InitBinary": "",
        "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
        "Warnings": [],
        **docker_objects.info_document(engine),
        "ID": engine.config.root,
    }


async def info(request: web.Request) -> web.Response:
    """``GET /info``."""
    return web.json_response(await workers(request).call(info_document))


async def disk_usage(request: web.Request) -> web.Response:
    """``GET /system/df``: images, containers and volumes with their sizes; no build cache."""
    from stdc.engine import disk_usage as usage

    doc = await workers(request).call(usage.disk_usage)
    images = [
        {
            "ParentId": "",
            "RepoDigests": [],
            "VirtualSize": row["Size"],
            "Labels": {},
            "SharedSize": row.get("SharedSize", 0),
            **row,
        }
        for row in doc["Images"]
    ]
    containers = [
        {"Labels": {}, "Mounts": [], "SizeRootFs": 0, **c, "SizeRw": c["SizeRw"] or 0} for c in doc["Containers"]
    ]
    volumes = [{"Mountpoint": "", "Labels": {}, "Scope": "local", "Options": {}, **v} for v in doc["Volumes"]]
    return web.json_response(
        {
            "LayersSize": doc["LayersSize"],
            "Images": images,
            "Containers": containers,
            "Volumes": volumes,
            "BuildCache": [],
        }
    )


async def auth(request: web.Request) -> web.Response:
    """``POST /auth``: check credentials against the registry (``stdc login``'s verb)."""
    from stdc.engine import registries

    body = await json_body(request)
    username, password = body.get("username") or "", body.get("password") or ""
    server = body.get("serveraddress") or None
    if server and "://" in server:
        server = server.split("://", 1)[1].split("/", 1)[0]
    await workers(request).call(registries.login, server, username, password)
    return web.json_response({"Status": "Login Succeeded", "IdentityToken": ""})


def register(routes: Routes) -> None:
    """Add the system routes."""
    routes.add("GET", "/_ping", ping)
    routes.add("HEAD", "/_ping", ping)
    routes.add("GET", "/version", version)
    routes.add("GET", "/info", info)
    routes.add("GET", "/system/df", disk_usage)
    routes.add("POST", "/auth", auth)
