"""The aiohttp application: every route under its plain path and under ``/vX.Y``, the API
versions stdc speaks, Docker's response headers, and errors turned into Docker's answers.

Each ``*_routes`` module has a ``register(routes)`` that adds its handlers through
:class:`Routes`; a handler reaches the engine through ``request.app[WORKERS]``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from stdc import __version__
from stdc.dockerapi.status_codes import ApiError, bad_request, error_response, message_of, status_of
from stdc.dockerapi.workers import Workers

API_VERSION = "1.43"
MIN_API_VERSION = "1.24"
#: the largest request body taken (an image to load or an archive to put is streamed, not read whole)
MAX_BODY = 64 * 1024 * 1024
WORKERS: web.AppKey[Workers] = web.AppKey("workers", Workers)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger("stdc.dockerapi")


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise bad_request(f"invalid API version {version!r}") from None


class Routes:
    """Adds each handler at its path and at ``/v{version}`` + its path."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.router = app.router

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Route ``method path`` (and its versioned twin) to ``handler``."""
        for prefix in ("", r"/v{api_version:[0-9]+\.[0-9]+}"):
            self.router.add_route(method, prefix + path, handler)


def common_headers() -> dict[str, str]:
    """The headers dockerd puts on every answer."""
    return {
        "Api-Version": API_VERSION,
        "Ostype": "linux",
        "Server": f"stdc/{__version__} (linux)",
        "Docker-Experimental": "false",
    }


@web.middleware
async def docker_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the path's API version, add Docker's headers, and turn any error into Docker's answer."""
    try:
        version = request.match_info.get("api_version")
        if version is not None:
            asked = _version_tuple(version)
            if asked < _version_tuple(MIN_API_VERSION):
                raise bad_request(
                    f"client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}, "
                    "please upgrade your client to a newer version"
                )
            if asked > _version_tuple(API_VERSION):
                raise bad_request(
                    f"client version {version} is too new. Maximum supported API version is {API_VERSION}"
                )
        response = await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        message = "page not found" if e.status == 404 else e.reason
        response = error_response(e.status, message)
    except ApiError as e:
        response = error_response(e.status, e.message)
    except Exception as e:  # noqa: BLE001 - every failure is an answer, never a dropped connection
        status = status_of(e)
        if status == 500:
            log.exception("%s %s failed", request.method, request.path)
        response = error_response(status, message_of(e))
    if not response.prepared:
        response.headers.update(common_headers())
    return response


async def on_prepare(_request: web.Request, response: web.StreamResponse) -> None:
    """Docker's headers on streamed answers too (prepared before the middleware sees them)."""
    for key, value in common_headers().items():
        response.headers.setdefault(key, value)


async def json_body(request: web.Request, default: Any = None) -> Any:
    """The request's JSON body (``default`` when empty); malformed JSON is a 400."""
    raw = await request.read()
    if not raw.strip():
        return {} if default is None else default
    try:
        return json.loads(raw)
    except ValueError as e:
        raise bad_request(f"invalid JSON: {e}") from None


def json_object(value: Any, what: str) -> dict:
    """``value`` if it is a JSON object (or null: empty), else a 400 naming ``what``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON object")
    return value


def query_bool(request: web.Request, key: str, default: bool = False) -> bool:
    """A boolean query parameter as dockerd reads one (``1``/``true``; empty or ``0``/``false`` is false)."""
    value = request.query.get(key)
    if value is None:
        return default
    return value.strip().lower() not in ("", "0", "false", "no")


def query_int(request: web.Request, key: str, default: int | None = None) -> int | None:
    """An integer query parameter; anything else is a 400."""
    value = request.query.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid value for {key}: {value!r} is not an integer") from None


def query_json(request: web.Request, key: str) -> dict:
    """A JSON-object query parameter (``filters``), empty when absent; malformed is a 400."""
    value = request.query.get(key)
    if not value:
        return {}
    try:
        return json_object(json.loads(value), key)
    except ValueError:
        raise bad_request(f"invalid {key} parameter: not JSON") from None


def workers(request: web.Request) -> Workers:
    """The engine's worker threads of this server."""
    return request.app[WORKERS]


def build(config: Any) -> web.Application:
    """The application over the engine of ``config``, every resource's routes registered."""
    from stdc.dockerapi import (
        container_fs_routes,
        container_io_routes,
        container_routes,
        event_routes,
        exec_routes,
        image_routes,
        network_routes,
        system_routes,
        unsupported_routes,
        volume_routes,
    )

    app = web.Application(middlewares=[docker_answers], client_max_size=MAX_BODY)
    app[WORKERS] = Workers(config)
    app.on_response_prepare.append(on_prepare)
    routes = Routes(app)
    for module in (
        system_routes,
        container_routes,
        container_io_routes,
        container_fs_routes,
        exec_routes,
        image_routes,
        network_routes,
        volume_routes,
        event_routes,
        unsupported_routes,
    ):
        module.register(routes)

    async def stop_workers(app: web.Application) -> None:
        app[WORKERS].shutdown()

    app.on_cleanup.append(stop_workers)
    return app
