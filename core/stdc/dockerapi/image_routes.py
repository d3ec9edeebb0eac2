"""Images: list, inspect, create (pull or import, with Docker's JSON progress lines), push, tag,
delete, history, get and load (docker-archive tarballs), commit and prune."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from stdc.dockerapi.request_kit import Routes, body_to_file, familiar, query_bool, query_json, workers
from stdc.dockerapi.status_codes import ApiError, bad_request, message_of, status_of
from stdc.engine import images
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine import Engine

NAME = "{name:.+}"


def _no_such_image(e: NotFound, ref: str) -> ApiError:
    return ApiError(404, f"No such image: {ref}")


def _reference(name: str, tag: str | None) -> str:
    name = familiar(name)
    if tag and "@" not in name:
        return f"{name}@{tag}" if tag.startswith("sha256:") else f"{name}:{tag}"
    return name


async def list_images(request: web.Request) -> web.Response:
    """``GET /images/json?all=&filters=``."""
    from stdc.engine import docker_filters, docker_objects

    filters = docker_filters.parse_filters(query_json(request, "filters"))
    show_all = query_bool(request, "all")

    def work(engine: Engine) -> list[dict]:
        rows = docker_objects.image_summaries(engine, all=show_all or "dangling" in filters)
        return docker_filters.filter_images(engine, rows, filters) if filters else rows

    return web.json_response(await workers(request).call(work))


async def inspect(request: web.Request) -> web.Response:
    """``GET /images/{name}/json``: Docker's ImageInspect."""
    from stdc.engine import docker_objects

    name = familiar(request.match_info["name"])
    try:
        return web.json_response(await workers(request).call(docker_objects.image_inspect, name))
    except NotFound as e:
        raise _no_such_image(e, name) from None


async def _progress_stream(
    request: web.Request, work: Callable[[Engine, Callable], Any], done: Callable[[Any], list[dict]]
) -> web.StreamResponse:
    """Run ``work(engine, progress)`` in a worker thread, streaming its progress as Docker's JSON
    lines; a failure before the first line is an HTTP error, after it an ``error`` line."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict | None] = asyncio.Queue()
    last: dict[str, int] = {}

    def progress(what: str, current: int, total: int) -> None:
        step = total // 20 if total > 0 else 1 << 20
        if current not in (0, total) and current - last.get(what, 0) < step:
            return
        last[what] = current
        line = {
            "status": "Downloading" if current < total else "Download complete",
            "progressDetail": {"current": current, "total": total},
            "id": what.removeprefix("sha256:")[:12],
        }
        loop.call_soon_threadsafe(queue.put_nowait, line)

    def run(engine: Engine) -> Any:
        try:
            return work(engine, progress)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    task = asyncio.ensure_future(workers(request).call(run, long=True))
    first = await queue.get()
    if first is None:
        result = await task  # a failure before any progress is the answer's status
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
    else:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        line: dict | None = first
        while line is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write(json.dumps(line).encode() + b"\r\n")
            line = await queue.get()
        try:
            result = await task
        except Exception as e:  # noqa: BLE001 - told in the stream, as dockerd does
            message = message_of(e)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write(
                    json.dumps({"errorDetail": {"message": message}, "error": message}).encode() + b"\r\n"
                )
            return response
    with contextlib.suppress(ConnectionError, RuntimeError):
        for line in done(result):
            await response.write(json.dumps(line).encode() + b"\r\n")
        await response.write_eof()
    return response


async def create(request: web.Request) -> web.StreamResponse:
    """``POST /images/create?fromImage=&tag=`` pulls; ``?fromSrc=-&repo=&tag=`` imports the body."""
    if request.query.get("fromSrc"):
        return await _import(request)
    name = request.query.get("fromImage")
    if not name:
        raise bad_request("fromImage or fromSrc is required")
    ref = _reference(
        name, request.query.get("tag") or ("latest" if ":" not in name.rsplit("/", 1)[-1] and "@" not in name else None)
    )
    platform = request.query.get("platform") or None

    def pull(engine: Engine, progress: Callable) -> Any:
        return images.pull(engine, ref, platform=platform, progress=progress)

    def done(image: Any) -> list[dict]:
        return [
            {"status": f"Digest: {image.manifest_digest}"},
            {"status": f"Status: Downloaded newer image for {ref}"},
        ]

    try:
        return await _progress_stream(request, pull, done)
    except NotFound as e:
        raise ApiError(
            404, f"pull access denied for {name}, repository does not exist or may require 'docker login': {e}"
        ) from None


async def _import(request: web.Request) -> web.Response:
    if request.query["fromSrc"] != "-":
        raise bad_request("importing from a URL is not supported by stdc: send the tarball as the body")
    ref = _reference(request.query.get("repo") or "", request.query.get("tag"))
    changes = request.query.getall("changes", [])
    path = await body_to_file(request)
    try:
        image = await workers(request).call(images.import_tarball, path, ref or None, changes, long=True)
    finally:
        os.unlink(path)
    return web.json_response({"status": image.id})


async def push(request: web.Request) -> web.StreamResponse:
    """``POST /images/{name}/push?tag=``."""
    ref = _reference(familiar(request.match_info["name"]), request.query.get("tag"))

    def work(engine: Engine, progress: Callable) -> str:
        return images.push(engine, ref, progress=progress)

    def done(digest: str) -> list[dict]:
        tag = ref.rsplit(":", 1)[-1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
        return [{"status": f"{tag}: digest: {digest}", "aux": {"Tag": tag, "Digest": digest}}]

    return await _progress_stream(request, work, done)


async def tag(request: web.Request) -> web.Response:
    """``POST /images/{name}/tag?repo=&tag=``: 201."""
    repo = request.query.get("repo")
    if not repo:
        raise bad_request("repo is required")
    name = familiar(request.match_info["name"])
    try:
        await workers(request).call(images.tag, name, _reference(repo, request.query.get("tag") or "latest"))
    except NotFound as e:
        raise _no_such_image(e, name) from None
    return web.Response(status=201)


async def delete(request: web.Request) -> web.Response:
    """``DELETE /images/{name}?force=``: the list of what was untagged and deleted."""
    name = familiar(request.match_info["name"])
    try:
        result = await workers(request).call(images.remove, name, query_bool(request, "force"))
    except NotFound as e:
        raise _no_such_image(e, name) from None
    rows = []
    for line in result.splitlines():
        done, _, what = line.partition(": ")
        if done in ("Untagged", "Deleted"):
            rows.append({done: what})
    return web.json_response(rows)


async def history(request: web.Request) -> web.Response:
    """``GET /images/{name}/history``."""
    name = familiar(request.match_info["name"])
    try:
        rows = await workers(request).call(images.history, name)
    except NotFound as e:
        raise _no_such_image(e, name) from None
    out = []
    for row in rows:
        created = row["Created"]
        with contextlib.suppress(ValueError):
            from stdc.dockerapi.framing import unix_time

            created = int(unix_time(created)) if isinstance(created, str) and created else 0
        out.append(
            {"Id": row["Id"], "Created": created if isinstance(created, int) else 0, "CreatedBy": row["CreatedBy"],
             "Tags": None, "Size": row["Size"], "Comment": row["Comment"]}
        )  # fmt: skip
    return web.json_response(out)


async def _save(request: web.Request, refs: list[str]) -> web.StreamResponse:
    read_end, write_end = os.pipe()
    response = web.StreamResponse(headers={"Content-Type": "application/x-tar"})

    def work(engine: Engine) -> None:
        with os.fdopen(write_end, "wb") as out:
            images.save(engine, refs, out, kind="docker")

    task = asyncio.ensure_future(workers(request).call(work, long=True))
    from stdc.dockerapi.hijack import read_fd

    prepared = False
    try:
        async for chunk in read_fd(read_end):
            if not prepared:
                await response.prepare(request)
                prepared = True
            await response.write(chunk)
        await task
    except (ConnectionError, RuntimeError):
        pass
    if not prepared:
        await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write_eof()
    return response


async def get_one(request: web.Request) -> web.StreamResponse:
    """``GET /images/{name}/get``: a docker-archive tarball."""
    name = familiar(request.match_info["name"])
    try:
        await workers(request).call(images.resolve, name)
    except NotFound as e:
        raise _no_such_image(e, name) from None
    return await _save(request, [name])


async def get_many(request: web.Request) -> web.StreamResponse:
    """``GET /images/get?names=``."""
    names = [familiar(n) for n in request.query.getall("names", [])]
    for name in names:
        try:
            await workers(request).call(images.resolve, name)
        except NotFound as e:
            raise _no_such_image(e, name) from None
    return await _save(request, names)


async def load(request: web.Request) -> web.Response:
    """``POST /images/load?quiet=``: the body is a docker-archive (or OCI) tarball."""
    path = await body_to_file(request)
    try:
        loaded = await workers(request).call(images.load, path, long=True)
    finally:
        os.unlink(path)
    lines = [
        {"stream": f"Loaded image: {name}\n"} if name else {"stream": f"Loaded image ID: {image.id}\n"}
        for name, image in loaded
    ]
    return web.Response(body="".join(json.dumps(line) + "\r\n" for line in lines), content_type="application/json")


async def commit(request: web.Request) -> web.Response:
    """``POST /commit?container=&repo=&tag=&comment=&author=&changes=``: 201 with the image's Id."""
    from stdc.engine import changes

    container = request.query.get("container")
    if not container:
        raise bad_request("container is required")
    repo = request.query.get("repo")
    reference = _reference(repo, request.query.get("tag") or "latest") if repo else None
    image = await workers(request).call(
        changes.commit,
        container,
        reference,
        request.query.get("comment") or None,
        request.query.get("author") or None,
        request.query.getall("changes", []) or None,
        long=True,
    )
    return web.json_response({"Id": image.id}, status=201)


async def prune(request: web.Request) -> web.Response:
    """``POST /images/prune?filters=``: dangling images, or every unused one with ``dangling=false``."""
    from stdc.engine import pruning

    filters = query_json(request, "filters")
    every = [str(v) for v in _listed(filters.pop("dangling", []))] in (["false"], ["0"])
    pairs = [f"{k}={v}" for k, values in filters.items() for v in _listed(values)]
    pruned = await workers(request).call(pruning.images, every, pairs, long=True)
    rows = []
    for line in pruned.deleted:
        done, _, what = line.partition(": ")
        rows.append({"Untagged" if done.lower() == "untagged" else "Deleted": what or line})
    return web.json_response({"ImagesDeleted": rows or None, "SpaceReclaimed": pruned.reclaimed})


def _listed(values: Any) -> list:
    if isinstance(values, dict):
        return [v for v, on in values.items() if on]
    return list(values) if isinstance(values, list) else [values]


def register(routes: Routes) -> None:
    """Add the image routes."""
    routes.add("GET", "/images/json", list_images)
    routes.add("POST", "/images/create", create)
    routes.add("POST", "/images/load", load)
    routes.add("GET", "/images/get", get_many)
    routes.add("POST", "/images/prune", prune)
    routes.add("POST", "/commit", commit)
    routes.add("GET", f"/images/{NAME}/json", inspect)
    routes.add("GET", f"/images/{NAME}/history", history)
    routes.add("GET", f"/images/{NAME}/get", get_one)
    routes.add("POST", f"/images/{NAME}/push", push)
    routes.add("POST", f"/images/{NAME}/tag", tag)
    routes.add("DELETE", f"/images/{NAME}", delete)


__all__ = ["register", "status_of"]
