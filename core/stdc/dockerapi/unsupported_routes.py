"""What stdc does not do — swarm, services, nodes, tasks, secrets, configs, plugins, BuildKit
sessions — answered as dockerd answers without them, never a crash."""

from __future__ import annotations

from aiohttp import web

from stdc.dockerapi.request_kit import Routes
from stdc.dockerapi.status_codes import error_response

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to '
    "swarm and try again."
)
_SWARM = ("/swarm", "/services", "/nodes", "/tasks", "/secrets", "/configs")


async def not_a_manager(_request: web.Request) -> web.Response:
    """503, as a dockerd outside a swarm answers."""
    return error_response(503, NOT_A_MANAGER)


async def no_plugins(request: web.Request) -> web.Response:
    """``GET /plugins``: none; anything else about plugins is a 404."""
    if request.method == "GET" and request.path.rstrip("/").endswith("/plugins"):
        return web.json_response([])
    return error_response(404, "stdc has no Docker engine plugins: its backends are its plugins (stdc plugins)")


async def no_sessions(_request: web.Request) -> web.Response:
    """``POST /session``: BuildKit's sessions are not served."""
    return error_response(501, "stdc does not serve BuildKit sessions")


def register(routes: Routes) -> None:
    """Add the answers for what stdc does not do."""
    for base in _SWARM:
        for method in ("GET", "POST", "DELETE"):
            routes.add(method, base, not_a_manager)
            routes.add(method, base + "/{rest:.*}", not_a_manager)
    for method in ("GET", "POST", "DELETE"):
        routes.add(method, "/plugins", no_plugins)
        routes.add(method, "/plugins/{rest:.*}", no_plugins)
    routes.add("POST", "/session", no_sessions)
