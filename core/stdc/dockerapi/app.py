"""The aiohttp application: every route under its plain path and under ``/vX.Y``, the API
versions stdc speaks, Docker's response headers, and errors turned into Docker's answers.

Each ``*_routes`` module has a ``register(routes)`` that adds its handlers through
:class:`~stdc.dockerapi.request_kit.Routes`; what handlers share is in :mod:`~stdc.dockerapi.request_kit`.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from stdc.dockerapi.request_kit import WORKERS, Handler, Routes, common_headers
from stdc.dockerapi.status_codes import ApiError, bad_request, error_response, message_of, status_of
from stdc.dockerapi.workers import Workers
from stdc.engine.docker_objects import API_VERSION, MIN_API_VERSION

#: the largest request body taken (an image to load or an archive to put is streamed, not read whole)
MAX_BODY = 64 * 1024 * 1024
log = logging.getLogger("stdc.dockerapi")


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise bad_request(f"invalid API version {version!r}") from None


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


def build(config: Any) -> web.Application:
    """The application over the engine of ``config``, every resource's routes registered."""
    from stdc.dockerapi import (
        build_routes,
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
        build_routes,
        unsupported_routes,
    ):
        module.register(routes)

    async def stop_workers(app: web.Application) -> None:
        app[WORKERS].shutdown()

    app.on_cleanup.append(stop_workers)
    return app
