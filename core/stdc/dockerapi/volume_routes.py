"""Volumes: list, inspect, create (the local driver), delete and prune."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aiohttp import web

from stdc.dockerapi.request_kit import Routes, json_body, json_labels, json_object, query_bool, query_json, workers
from stdc.dockerapi.status_codes import ApiError, bad_request
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine import Engine


async def list_volumes(request: web.Request) -> web.Response:
    """``GET /volumes?filters=``."""
    from stdc.engine import object_filters
    from stdc.engine.docker_filters import parse_filters

    docs = await workers(request).call(object_filters.volumes, parse_filters(query_json(request, "filters")))
    return web.json_response({"Volumes": docs, "Warnings": []})


async def inspect(request: web.Request) -> web.Response:
    """``GET /volumes/{name}``."""
    from stdc.engine import docker_objects

    name = request.match_info["name"]
    try:
        return web.json_response(await workers(request).call(docker_objects.volume_inspect, name))
    except NotFound:
        raise ApiError(404, f"get {name}: no such volume") from None


async def create(request: web.Request) -> web.Response:
    """``POST /volumes/create``: Name (generated when empty), the local driver; 201."""
    from stdc.engine import docker_objects, volumes

    body = json_object(await json_body(request), "the volume config")
    if body.get("Driver") not in (None, "", "local"):
        raise bad_request(f"volume driver {body['Driver']!r} is not supported by stdc: only local")
    labels = json_labels(body.get("Labels"), "volume")
    for key in ("DriverOpts", "ClusterVolumeSpec"):
        if body.get(key):
            raise bad_request(f"volume {key} is not supported by stdc yet")
    name = body.get("Name") or os.urandom(32).hex()
    if not isinstance(name, str):
        raise bad_request("Name must be a string")

    def work(engine: Engine) -> dict:
        volumes.create(engine, name, labels=labels)
        return docker_objects.volume_inspect(engine, name)

    return web.json_response(await workers(request).call(work), status=201)


async def delete(request: web.Request) -> web.Response:
    """``DELETE /volumes/{name}?force=``: 204; 409 while a container uses it."""
    from stdc.engine import volumes

    name = request.match_info["name"]
    try:
        await workers(request).call(volumes.remove, name)
    except NotFound:
        if not query_bool(request, "force"):
            raise ApiError(404, f"get {name}: no such volume") from None
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    """``POST /volumes/prune?filters=``: anonymous unused volumes (``all=true``: every unused one)."""
    from stdc.engine import pruning

    filters = query_json(request, "filters")
    every = [str(v).lower() for v in filters.pop("all", [])] in (["true"], ["1"])
    pairs = [f"{k}={v}" for k, values in filters.items() for v in values]
    pruned = await workers(request).call(pruning.volumes, every, pairs, long=True)
    return web.json_response({"VolumesDeleted": pruned.deleted or None, "SpaceReclaimed": pruned.reclaimed})


def register(routes: Routes) -> None:
    """Add the volume routes."""
    routes.add("GET", "/volumes", list_volumes)
    routes.add("POST", "/volumes/create", create)
    routes.add("POST", "/volumes/prune", prune)
    routes.add("GET", "/volumes/{name}", inspect)
    routes.add("DELETE", "/volumes/{name}", delete)
