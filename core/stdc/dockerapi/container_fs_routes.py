"""A container's files: changes, export, and the archive endpoints (``HEAD``/``GET``/``PUT``
``/containers/{id}/archive?path=``, with the ``X-Docker-Container-Path-Stat`` header). The copies
go through ``stdc cp``'s verbs (:mod:`stdc.engine.copy`) by way of a private temporary directory."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
import time
from typing import TYPE_CHECKING

from aiohttp import web

from stdc.dockerapi.hijack import read_fd
from stdc.dockerapi.request_kit import Routes, query_bool, workers
from stdc.dockerapi.status_codes import ApiError, bad_request
from stdc.engine import containers
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine import Engine

_KINDS = {"C": 0, "A": 1, "D": 2}


async def changes(request: web.Request) -> web.Response:
    """``GET /containers/{id}/changes``: ``[{"Path", "Kind"}]`` (0 changed, 1 added, 2 deleted)."""
    from stdc.engine import changes as container_changes

    found = await workers(request).call(container_changes.diff, request.match_info["id"], long=True)
    rows = [{"Path": "/" + path.lstrip("/"), "Kind": _KINDS[kind]} for kind, path in found]
    return web.json_response(rows or None)


async def _stream_fd(
    request: web.Request, produce: object, content_type: str, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """Stream what ``produce(engine, write_fd)`` writes (in a worker thread) through a pipe."""
    read_end, write_end = os.pipe()

    def work(engine: Engine) -> None:
        try:
            produce(engine, write_end)  # type: ignore[operator]
        finally:
            os.close(write_end)

    task = asyncio.ensure_future(workers(request).call(work, long=True))
    response = web.StreamResponse(headers={"Content-Type": content_type, **(headers or {})})
    await response.prepare(request)
    try:
        async for chunk in read_fd(read_end):
            await response.write(chunk)
    except (ConnectionError, RuntimeError):
        pass
    with contextlib.suppress(Exception):
        await task
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write_eof()
    return response


async def export(request: web.Request) -> web.StreamResponse:
    """``GET /containers/{id}/export``: the flattened filesystem as a tar."""
    from stdc.engine import changes as container_changes

    ref = request.match_info["id"]
    await workers(request).call(containers.get, ref)

    def produce(engine: Engine, fd: int) -> None:
        container_changes.export(engine, ref, fd)

    return await _stream_fd(request, produce, "application/x-tar")


def _path(request: web.Request) -> str:
    path = request.query.get("path")
    if not path:
        raise bad_request("path is required")
    return path


def _copied_out(engine: Engine, ref: str, path: str) -> tuple[str, str]:
    """``path`` of the container copied into a new private directory: (directory, name)."""
    from stdc.engine import copy

    directory = tempfile.mkdtemp(prefix="stdc-api-archive-", dir="/var/tmp")
    try:
        copy.copy_out(engine, ref, path, directory + "/", archive=True)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    names = os.listdir(directory)
    return directory, names[0] if names else ""


def _stat_header(directory: str, name: str, path: str) -> str:
    st = os.lstat(os.path.join(directory, name))
    mode = stat.S_IMODE(st.st_mode) | (1 << 31 if stat.S_ISDIR(st.st_mode) else 0)
    if stat.S_ISLNK(st.st_mode):
        mode |= 1 << 27
    doc = {
        "name": os.path.basename(path.rstrip("/")) or "/",
        "size": st.st_size,
        "mode": mode,
        "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)),
        "linkTarget": os.readlink(os.path.join(directory, name)) if stat.S_ISLNK(st.st_mode) else "",
    }
    return base64.b64encode(json.dumps(doc).encode()).decode()


async def _archive_of(request: web.Request) -> tuple[str, str, str]:
    ref, path = request.match_info["id"], _path(request)
    try:
        directory, name = await workers(request).call(_copied_out, ref, path, long=True)
    except NotFound as e:
        raise ApiError(
            404, f"Could not find the file {path} in container {ref}" if "container" not in str(e) else str(e)
        ) from None
    return directory, name, _stat_header(directory, name, path)


async def archive_head(request: web.Request) -> web.Response:
    """``HEAD /containers/{id}/archive?path=``: only the stat header."""
    directory, _name, header = await _archive_of(request)
    shutil.rmtree(directory, ignore_errors=True)
    return web.Response(status=200, headers={"X-Docker-Container-Path-Stat": header})


async def archive_get(request: web.Request) -> web.StreamResponse:
    """``GET /containers/{id}/archive?path=``: a tar of the path, its stat in the header."""
    directory, name, header = await _archive_of(request)
    as_name = os.path.basename(_path(request).rstrip("/")) or name

    def produce(_engine: Engine, fd: int) -> None:
        with os.fdopen(os.dup(fd), "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
            tar.add(os.path.join(directory, name), arcname=as_name)

    try:
        return await _stream_fd(request, produce, "application/x-tar", {"X-Docker-Container-Path-Stat": header})
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def archive_put(request: web.Request) -> web.Response:
    """``PUT /containers/{id}/archive?path=``: extract the tar body into the directory ``path``."""
    from stdc.engine import copy

    ref, path = request.match_info["id"], _path(request)
    await workers(request).call(containers.get, ref)
    directory = tempfile.mkdtemp(prefix="stdc-api-archive-", dir="/var/tmp")
    try:
        tar_path = os.path.join(directory, "body.tar")
        with open(tar_path, "wb") as f:
            async for chunk in request.content.iter_chunked(1 << 20):
                f.write(chunk)
        tree = os.path.join(directory, "tree")
        os.mkdir(tree)

        def work(engine: Engine) -> None:
            try:
                with tarfile.open(tar_path) as tar:
                    tar.extractall(tree, filter="tar")
            except (tarfile.TarError, OSError) as e:
                raise ApiError(400, f"invalid archive: {e}") from None
            for entry in os.listdir(tree):
                copy.copy_in(engine, ref, os.path.join(tree, entry), path.rstrip("/") + "/", archive=True)

        try:
            await workers(request).call(work, long=True)
        except NotFound as e:
            raise ApiError(404, str(e)) from None
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if query_bool(request, "copyUIDGID"):
        pass  # the archive's owners are kept either way (archive=True)
    return web.Response(status=200)


def register(routes: Routes) -> None:
    """Add the container file routes."""
    routes.add("GET", "/containers/{id}/changes", changes)
    routes.add("GET", "/containers/{id}/export", export)
    routes.add("HEAD", "/containers/{id}/archive", archive_head)
    routes.add("GET", "/containers/{id}/archive", archive_get)
    routes.add("PUT", "/containers/{id}/archive", archive_put)
