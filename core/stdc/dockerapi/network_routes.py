"""Networks: list, inspect, create (the bridge provider, IPAM subnet), delete, prune; connect and
disconnect wait for the engine's verbs (refused with a message until then)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from stdc.dockerapi.request_kit import Routes, json_body, json_labels, json_object, query_json, workers
from stdc.dockerapi.status_codes import ApiError, bad_request
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine import Engine


async def list_networks(request: web.Request) -> web.Response:
    """``GET /networks?filters=``."""
    from stdc.engine import object_filters
    from stdc.engine.docker_filters import parse_filters

    filters = parse_filters(query_json(request, "filters"))
    return web.json_response(await workers(request).call(object_filters.networks, filters))


async def inspect(request: web.Request) -> web.Response:
    """``GET /networks/{id}``: by name, id or unique id prefix."""
    name = request.match_info["id"]
    try:
        return web.json_response(await workers(request).call(_find, name))
    except NotFound:
        raise ApiError(404, f"network {name} not found") from None


def _find(engine: Engine, ref: str) -> dict:
    from stdc.engine import docker_objects, networks

    for n in networks.list_networks(engine):
        if ref in (n["Name"], n.get("Id")):
            return docker_objects.network_inspect(engine, n["Name"])
    matches = [n for n in networks.list_networks(engine) if (n.get("Id") or "").startswith(ref)]
    if len(matches) == 1:
        return docker_objects.network_inspect(engine, matches[0]["Name"])
    raise NotFound(f"no such network: {ref}")


async def create(request: web.Request) -> web.Response:
    """``POST /networks/create``: Name, Driver bridge, IPAM one subnet; 201 with the Id."""
    from stdc.engine import networks

    body = json_object(await json_body(request), "the network config")
    name = body.get("Name")
    if not name or not isinstance(name, str):
        raise bad_request("Name is required")
    if body.get("Driver") not in (None, "", "bridge"):
        raise bad_request(f"network driver {body['Driver']!r} is not supported by stdc: only bridge")
    ipam = json_object(body.get("IPAM"), "IPAM")
    configs = ipam.get("Config") or []
    if len(configs) > 1:
        raise bad_request("stdc networks have one IPAM subnet")
    subnet = None
    if configs:
        config = json_object(configs[0], "IPAM.Config[]")
        subnet = config.get("Subnet") or None
        extra = sorted(k for k, v in config.items() if k != "Subnet" and v)
        if extra:
            raise bad_request(f"IPAM {', '.join(extra)} is not supported by stdc yet: only Subnet")
    # Attachable (swarm's: standalone containers may join) is what every local bridge network is
    labels = json_labels(body.get("Labels"), "network")
    for key in ("Internal", "Ingress", "EnableIPv6", "ConfigOnly", "Options"):
        if body.get(key):
            raise bad_request(f"network {key} is not supported by stdc yet")
    if ipam.get("Driver") not in (None, "", "default") or ipam.get("Options"):
        raise bad_request("only the default IPAM driver is supported by stdc")

    def work(engine: Engine) -> str:
        if any(n["Name"] == name for n in networks.list_networks(engine)):
            from stdc.errors import Conflict

            raise Conflict(f"network with name {name} already exists")
        return networks.create(engine, name, subnet, labels)

    network_id = await workers(request).call(work)
    return web.json_response({"Id": network_id, "Warning": ""}, status=201)


async def delete(request: web.Request) -> web.Response:
    """``DELETE /networks/{id}``: 204."""
    from stdc.engine import networks

    name = request.match_info["id"]

    def work(engine: Engine) -> None:
        networks.remove(engine, _find(engine, name)["Name"])

    try:
        await workers(request).call(work)
    except NotFound:
        raise ApiError(404, f"network {name} not found") from None
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    """``POST /networks/prune``: the networks no container uses."""
    from stdc.engine import networks

    if query_json(request, "filters"):
        raise bad_request("network prune filters are not supported by stdc yet")
    removed = await workers(request).call(networks.prune)
    return web.json_response({"NetworksDeleted": removed or None})


async def connect(request: web.Request) -> web.Response:
    """``POST /networks/{id}/connect``: refused until the engine can join a running container to a network."""
    await json_body(request)
    raise bad_request("stdc cannot connect a container to a second network yet: name it at create (NetworkMode)")


async def disconnect(request: web.Request) -> web.Response:
    """``POST /networks/{id}/disconnect``: refused, as connect is."""
    await json_body(request)
    raise bad_request("stdc cannot disconnect a container from its network yet")


def register(routes: Routes) -> None:
    """Add the network routes."""
    routes.add("GET", "/networks", list_networks)
    routes.add("POST", "/networks/create", create)
    routes.add("POST", "/networks/prune", prune)
    routes.add("GET", "/networks/{id}", inspect)
    routes.add("DELETE", "/networks/{id}", delete)
    routes.add("POST", "/networks/{id}/connect", connect)
    routes.add("POST", "/networks/{id}/disconnect", disconnect)
