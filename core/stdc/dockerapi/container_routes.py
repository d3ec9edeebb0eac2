"""Containers: create, list, inspect, start, stop, restart, kill, pause, unpause, rename,
update, resize, top, delete and prune (the streams are :mod:`~stdc.dockerapi.container_io_routes`,
the files :mod:`~stdc.dockerapi.container_fs_routes`)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from typing import TYPE_CHECKING

from aiohttp import web

from stdc.dockerapi import container_io_routes
from stdc.dockerapi.container_config import run_options
from stdc.dockerapi.request_kit import Routes, json_body, query_bool, query_int, query_json, workers
from stdc.dockerapi.status_codes import ApiError, bad_request
from stdc.engine import containers
from stdc.errors import Conflict, NotFound, StdcError

if TYPE_CHECKING:
    from stdc.engine import Engine


def _no_such_container(e: NotFound, ref: str) -> ApiError:
    return ApiError(404, f"No such container: {ref}") if "container" in str(e) else ApiError(404, str(e))


async def create(request: web.Request) -> web.Response:
    """``POST /containers/create?name=``: 201 with the new container's ``Id``."""
    opts = run_options(await json_body(request), request.query.get("name"))
    try:
        c = await workers(request).call(containers.create, opts)
    except NotFound as e:
        if "image" in str(e).lower():
            raise ApiError(404, f"No such image: {opts.image}") from None
        raise
    return web.json_response({"Id": c.id, "Warnings": []}, status=201)


def _summaries(engine: Engine, all: bool, size: bool, filters: dict, limit: int | None) -> list[dict]:
    from stdc.engine import docker_documents, docker_filters

    wanted = docker_filters.parse_filters(filters)
    rows = docker_documents.container_summaries(engine, all=all or bool(wanted) or bool(limit), size=size)
    rows = docker_filters.filter_containers(engine, rows, wanted) if wanted else rows
    return rows[:limit] if limit and limit > 0 else rows


async def list_containers(request: web.Request) -> web.Response:
    """``GET /containers/json?all=&limit=&size=&filters=``."""
    all_, size = query_bool(request, "all"), query_bool(request, "size")
    if not all_ and "status" in query_json(request, "filters"):
        all_ = True  # a status filter looks beyond running containers, as dockerd's
    filters = query_json(request, "filters")
    rows = await workers(request).call(_summaries, all_, size, filters, query_int(request, "limit"))
    return web.json_response(rows)


async def inspect(request: web.Request) -> web.Response:
    """``GET /containers/{id}/json``: the container in Docker's ContainerInspect shape."""
    from stdc.engine import docker_documents

    ref = request.match_info["id"]
    try:
        doc = await workers(request).call(docker_documents.container_inspect, ref)
    except NotFound as e:
        raise _no_such_container(e, ref) from None
    return web.json_response(doc)


async def start(request: web.Request) -> web.Response:
    """``POST /containers/{id}/start``: 204, or 304 if it already runs. An attach client waiting
    for the container gets a connection to its monitor made before the payload runs."""
    c = await workers(request).call(containers.get, request.match_info["id"])
    if c.running:
        return web.Response(status=304)
    if container_io_routes.waiting_attach(request.app, c.id):
        attachment = await workers(request).call(containers.start_attached, c.id)
        if not container_io_routes.hand_attachment(request.app, c.id, attachment):
            attachment.socket.close()  # the client gave up meanwhile: the container runs on
    else:
        await workers(request).call(containers.start, c.id)
    return web.Response(status=204)


def _timeout(request: web.Request) -> float:
    value = query_int(request, "t")
    if value is None:
        value = query_int(request, "timeout")
    return 10 if value is None else (1 << 30 if value < 0 else value)


async def stop(request: web.Request) -> web.Response:
    """``POST /containers/{id}/stop?t=``: 204, or 304 if it was not running."""
    timeout = _timeout(request)

    def work(engine: Engine, ref: str) -> bool:
        if not containers.get(engine, ref).running:
            return False
        containers.stop(engine, ref, timeout)
        return True

    stopped = await workers(request).call(work, request.match_info["id"], long=True)
    return web.Response(status=204 if stopped else 304)


async def restart(request: web.Request) -> web.Response:
    """``POST /containers/{id}/restart?t=``."""
    await workers(request).call(containers.restart, request.match_info["id"], _timeout(request), long=True)
    return web.Response(status=204)


async def kill(request: web.Request) -> web.Response:
    """``POST /containers/{id}/kill?signal=``: 409 unless it runs; a SIGKILL answers once it has stopped."""
    from stdc.engine.options import signal_number

    sig = signal_number(request.query.get("signal") or "SIGKILL")

    def work(engine: Engine, ref: str) -> None:
        c = containers.get(engine, ref)
        if not c.running:
            raise Conflict(f"Container {c.id} is not running")
        containers.kill(engine, ref, sig)
        if sig == signal.SIGKILL:  # as dockerd: a SIGKILL answers once the container has stopped
            with contextlib.suppress(StdcError):
                containers.wait(engine, ref, timeout=10)

    await workers(request).call(work, request.match_info["id"], long=True)
    return web.Response(status=204)


async def pause(request: web.Request) -> web.Response:
    """``POST /containers/{id}/pause``."""
    await workers(request).call(containers.pause, request.match_info["id"])
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.Response:
    """``POST /containers/{id}/unpause``."""
    await workers(request).call(containers.unpause, request.match_info["id"])
    return web.Response(status=204)


async def rename(request: web.Request) -> web.Response:
    """``POST /containers/{id}/rename?name=``."""
    name = request.query.get("name")
    if not name:
        raise bad_request("the new name is required (name=)")
    await workers(request).call(containers.rename, request.match_info["id"], name.lstrip("/"))
    return web.Response(status=204)


async def update(request: web.Request) -> web.Response:
    """``POST /containers/{id}/update``: new limits and restart policy (see :mod:`stdc.dockerapi.update_body`)."""
    from stdc.dockerapi.update_body import update_options
    from stdc.engine import live_update

    changes = update_options(await json_body(request))
    if changes == live_update.UpdateOptions():
        return web.json_response({"Warnings": []})  # the docker CLI's zeros: nothing to change
    warnings = await workers(request).call(live_update.update, request.match_info["id"], changes)
    return web.json_response({"Warnings": warnings})


async def resize(request: web.Request) -> web.Response:
    """``POST /containers/{id}/resize?h=&w=``: the size of the container's terminal."""
    from stdc import attach

    rows, columns = query_int(request, "h", 0), query_int(request, "w", 0)

    def work(engine: Engine, ref: str) -> None:
        attachment = containers.attach(engine, ref)
        channel = attach.MonitorChannel(attachment.socket)
        try:
            if attachment.terminal:
                channel.resize(rows or 24, columns or 80)
        finally:
            channel.close()

    await workers(request).call(work, request.match_info["id"])
    return web.Response(status=200)


def top_table(pids: list[int], ps_args: str) -> dict:
    """``ps`` of the container's processes: its Titles and one row per process."""
    import shlex

    args = shlex.split(ps_args) if ps_args else ["-f"]
    out = subprocess.run(["ps", *args, "-p", ",".join(map(str, pids))], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise bad_request(f"ps {ps_args}: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return {"Titles": [], "Processes": []}
    titles = lines[0].split()
    rows = [line.split(None, len(titles) - 1) for line in lines[1:]]
    return {"Titles": titles, "Processes": rows}


async def top(request: web.Request) -> web.Response:
    """``GET /containers/{id}/top?ps_args=``."""
    pids = await workers(request).call(containers.processes, request.match_info["id"])
    table = await workers(request).run(lambda: top_table(pids, request.query.get("ps_args", "")), long=False)
    return web.json_response(table)


async def delete(request: web.Request) -> web.Response:
    """``DELETE /containers/{id}?force=&v=``."""
    ref = request.match_info["id"]
    force = query_bool(request, "force")

    def work(engine: Engine) -> None:
        c = containers.get(engine, ref)
        if c.running and not force:
            raise Conflict(
                f"You cannot remove a running container {c.id}. Stop the container before attempting removal or "
                "force remove"
            )
        containers.remove(engine, ref, force)

    try:
        await workers(request).call(work, long=True)
    except NotFound as e:
        raise _no_such_container(e, ref) from None
    return web.Response(status=204)


async def prune(request: web.Request) -> web.Response:
    """``POST /containers/prune?filters=``."""
    from stdc.engine import pruning

    pairs = [f"{k}={v}" for k, values in query_json(request, "filters").items() for v in _values(values)]
    pruned = await workers(request).call(pruning.containers, pairs, long=True)
    return web.json_response({"ContainersDeleted": pruned.deleted or None, "SpaceReclaimed": pruned.reclaimed})


def _values(values: object) -> list[str]:
    if isinstance(values, dict):
        return [str(v) for v, on in values.items() if on]
    if isinstance(values, list):
        return [str(v) for v in values]
    raise bad_request("invalid filters: each value must be a list")


def register(routes: Routes) -> None:
    """Add the container routes."""
    routes.add("POST", "/containers/create", create)
    routes.add("GET", "/containers/json", list_containers)
    routes.add("POST", "/containers/prune", prune)
    routes.add("GET", "/containers/{id}/json", inspect)
    routes.add("POST", "/containers/{id}/start", start)
    routes.add("POST", "/containers/{id}/stop", stop)
    routes.add("POST", "/containers/{id}/restart", restart)
    routes.add("POST", "/containers/{id}/kill", kill)
    routes.add("POST", "/containers/{id}/pause", pause)
    routes.add("POST", "/containers/{id}/unpause", unpause)
    routes.add("POST", "/containers/{id}/rename", rename)
    routes.add("POST", "/containers/{id}/update", update)
    routes.add("POST", "/containers/{id}/resize", resize)
    routes.add("GET", "/containers/{id}/top", top)
    routes.add("DELETE", "/containers/{id}", delete)
