"""``POST /build`` (the classic builder: a tar context as the body) and ``POST /build/prune``,
over the engine's build verb (:mod:`stdc.engine.build`).

The build's progress goes out as dockerd's JSON lines (``stream``, ``aux.ID``, ``errorDetail``)
as it comes. A client that disconnects cancels the build: the step's container is killed, the
build fails as a failed step does, so no tag is set and no container stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from typing import TYPE_CHECKING, Any

from aiohttp import web

from stdc.dockerapi.request_kit import Routes, body_to_file, familiar, query_bool, workers
from stdc.dockerapi.status_codes import bad_request, message_of
from stdc.errors import StdcError

if TYPE_CHECKING:
    from stdc.engine import Engine
    from stdc.engine.build import BuildEvent

_CHECK_CLIENT = 0.5  # seconds between looks at whether a silent build's client is still there


class BuildCancelled(StdcError):
    """The client went away."""


def _string_map(request: web.Request, key: str) -> dict[str, str]:
    raw = request.query.get(key)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise bad_request(f"invalid {key} parameter: not JSON") from None
    if not isinstance(value, dict):
        raise bad_request(f"{key} must be a JSON object")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _lines(event: BuildEvent, quiet: bool) -> list[dict[str, Any]]:
    """dockerd's JSON lines for one build event."""
    if event.kind == "built":
        shown = f"{event.text}\n" if quiet else f"Successfully built {event.text.split(':')[-1][:12]}\n"
        return [{"aux": {"ID": event.text}}, {"stream": shown}]  # quiet: dockerd's one line, the id
    if quiet:
        return []
    text = {
        "step": f"{event.text}\n",
        "trigger": f" # {event.text}\n",
        "running": f" ---> Running in {event.text}\n",
        "cache": " ---> Using cache\n",
        "done": f" ---> {event.text}\n",
        "warning": f"[Warning] {event.text}\n",
        "tagged": f"Successfully tagged {event.text}\n",
        "output": event.data.decode("utf-8", "replace"),
    }.get(event.kind)
    return [{"stream": text}] if text else []


async def build(request: web.Request) -> web.StreamResponse:
    """``POST /build?t=&dockerfile=&buildargs=&target=&nocache=&labels=&q=&pull=&networkmode=&platform=``."""
    from stdc.engine.build import BuildOptions
    from stdc.engine.build import build as build_image

    network = request.query.get("networkmode") or None
    opts = BuildOptions(
        tags=[familiar(t) for t in request.query.getall("t", []) if t],
        dockerfile=request.query.get("dockerfile") or None,
        build_args=_string_map(request, "buildargs"),
        target=request.query.get("target") or None,
        no_cache=query_bool(request, "nocache"),
        pull=query_bool(request, "pull"),
        labels=_string_map(request, "labels"),
        network=None if network == "default" else network,
        platform=request.query.get("platform") or None,
    )
    quiet = query_bool(request, "q")
    path = await body_to_file(request)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    cancelled = threading.Event()
    running: list[str] = []

    def progress(event: BuildEvent) -> None:
        if cancelled.is_set():
            raise BuildCancelled("the client went away")
        if event.kind == "running":
            running[:] = [event.text]
        elif event.kind == "done":
            running.clear()
        for line in _lines(event, quiet):
            loop.call_soon_threadsafe(queue.put_nowait, line)

    def work(engine: Engine) -> None:
        try:
            with open(path, "rb") as context:
                opts.context_tar = context
                build_image(engine, opts, progress)
        finally:
            os.unlink(path)
            loop.call_soon_threadsafe(queue.put_nowait, None)

    def cancel(engine: Engine) -> None:
        from stdc.engine import containers

        cancelled.set()
        for container in list(running):
            with contextlib.suppress(StdcError):
                containers.kill(engine, container)

    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    task = asyncio.ensure_future(workers(request).call(work, long=True))
    gone = False
    while True:
        try:
            line = await asyncio.wait_for(queue.get(), _CHECK_CLIENT)
        except TimeoutError:
            line = {}
        if line is None:
            break
        if not gone and (request.transport is None or request.transport.is_closing()):
            gone = True
            await workers(request).call(cancel)
        if line and not gone:
            try:
                await response.write(json.dumps(line).encode() + b"\r\n")
            except (ConnectionError, RuntimeError):
                gone = True
                await workers(request).call(cancel)
    try:
        await task
    except Exception as e:  # noqa: BLE001 - told in the stream, as dockerd does
        message = message_of(e)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write(json.dumps({"errorDetail": {"message": message}, "error": message}).encode() + b"\r\n")
        return response
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write_eof()
    return response


async def prune(request: web.Request) -> web.Response:
    """``POST /build/prune``: the layer cache goes; ``SpaceReclaimed`` in bytes."""
    from stdc.engine.build import layer_cache

    count, freed = await workers(request).call(layer_cache.prune)
    return web.json_response({"CachesDeleted": [f"entry-{i}" for i in range(count)], "SpaceReclaimed": freed})


def register(routes: Routes) -> None:
    """Add the build routes."""
    routes.add("POST", "/build", build)
    routes.add("POST", "/build/prune", prune)
