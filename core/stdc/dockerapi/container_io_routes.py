"""A container's streams: wait, logs, attach and stats.

``wait`` sends its headers once the waiter follows the events journal, so an exit after that is
never missed. ``attach`` to a container not started yet is handed, by the ``start`` that comes,
a connection to the monitor made before the payload runs (:data:`PENDING_ATTACH`): ``docker
run`` misses none of the output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from stdc.dockerapi import framing
from stdc.dockerapi.hijack import Hijacked, hijack
from stdc.dockerapi.request_kit import Routes, query_bool, workers
from stdc.dockerapi.status_codes import bad_request
from stdc.engine import containers
from stdc.errors import NotFound

if TYPE_CHECKING:
    from stdc.engine import Engine
    from stdc.engine.containers import Attachment

#: container id -> the futures of attach clients waiting for it to start (see container_routes.start)
PENDING_ATTACH: web.AppKey[dict[str, list[asyncio.Future]]] = web.AppKey("pending_attach", dict)
_CONDITIONS = ("not-running", "next-exit", "removed")


def _wait_exit(engine: Engine, cid: str, condition: str, after_ns: int) -> tuple[int, str | None]:
    """Follow the journal from ``after_ns`` until the container's exit (or, for ``removed``, its
    removal): its exit code. Between events the record is refreshed, which sees an exit as soon as
    the monitor has recorded it (the ``die`` event waits for the clean-up)."""
    from stdc.engine import journal

    try:
        c = containers.get(engine, cid)
    except NotFound:
        return 0, None
    code = c.exit_code or 0
    if condition == "not-running" and not c.running:
        return code, None
    started = c.running
    for doc in journal.follow(engine.root, after_ns, poll=0.02):
        if doc is None:
            try:
                c = containers.get(engine, cid)
            except NotFound:
                return code, None
            started = started or c.running or (c.started or 0) * 1e9 > after_ns
            if not c.running and c.exit_code is not None:
                code = c.exit_code
                if condition != "removed" and started:
                    return code, None
            continue
        if doc.get("Type") != "container" or doc["Actor"]["ID"] != cid:
            continue
        if doc["Action"] == "die":
            with contextlib.suppress(ValueError, KeyError):
                code = int(doc["Actor"]["Attributes"]["exitCode"])
            if condition != "removed":
                return code, None
        elif doc["Action"] == "destroy":
            return code, None
    return code, None


async def wait(request: web.Request) -> web.StreamResponse:
    """``POST /containers/{id}/wait?condition=``: the headers at once, the exit code when it comes."""
    condition = request.query.get("condition") or "not-running"
    if condition not in _CONDITIONS:
        raise bad_request(f"invalid condition {condition!r}: one of {', '.join(_CONDITIONS)}")
    after_ns = time.time_ns()  # before the check: an exit from now on is in the journal after this
    c = await workers(request).call(containers.get, request.match_info["id"])
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    code, error = await workers(request).call(_wait_exit, c.id, condition, after_ns, long=True)
    body = {"StatusCode": code, "Error": {"Message": error} if error else None}
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write(json.dumps(body).encode() + b"\n")
        await response.write_eof()
    return response


def _log_filter(request: web.Request) -> tuple[set[str], float | None, float | None, bool]:
    streams = {s for s in ("stdout", "stderr") if query_bool(request, s)}
    since, until = framing.parse_since(request.query.get("since")), framing.parse_since(request.query.get("until"))
    return streams, since, until, query_bool(request, "timestamps")


def _entry_bytes(entry: Any, tty: bool, timestamps: bool) -> bytes:
    data = entry.text.encode()
    if timestamps:
        data = entry.time.encode() + b" " + data
    return framing.encode(framing.STDERR if entry.stream == "stderr" else framing.STDOUT, data, tty)


async def logs(request: web.Request) -> web.StreamResponse:
    """``GET /containers/{id}/logs``: follow, stdout, stderr, timestamps, tail, since, until."""
    from stdc.engine import logs as container_logs
    from stdc.engine.options import parse_tail

    ref = request.match_info["id"]
    streams, since, until, timestamps = _log_filter(request)
    if not streams:
        raise bad_request("Bad parameters: you must choose at least one stream")
    tail = parse_tail(request.query.get("tail") or "all")
    follow = query_bool(request, "follow")
    tty = await workers(request).call(containers.has_terminal, ref)
    opts = container_logs.LogOptions(follow=follow and until is None, tail=tail, timestamps=timestamps)
    response = web.StreamResponse(headers={"Content-Type": framing.content_type(tty)})
    await response.prepare(request)
    async for entry in workers(request).iterate(lambda engine: container_logs.entries(engine, ref, opts)):
        if entry.stream not in streams:
            continue
        if since is not None or until is not None:
            at = framing.unix_time(entry.time)
            if (since is not None and at < since) or (until is not None and at > until):
                continue
        try:
            await response.write(_entry_bytes(entry, tty, timestamps))
        except (ConnectionError, RuntimeError):
            break  # the client went away: the iterator is closed in its thread
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write_eof()
    return response


async def _replay_logs(request: web.Request, out: Hijacked, ref: str, tty: bool, streams: set[str]) -> None:
    from stdc.engine import logs as container_logs

    opts = container_logs.LogOptions()
    async for entry in workers(request).iterate(lambda engine: container_logs.entries(engine, ref, opts)):
        if entry.stream in streams:
            await out.write(_entry_bytes(entry, tty, False))


def _attach_now(engine: Engine, ref: str) -> Attachment | None:
    """A connection to the running container's monitor; None while it has not started."""
    c = containers.get(engine, ref)
    if not c.running:
        return None
    return containers.attach(engine, ref)


async def _attachment(request: web.Request, cid: str) -> Attachment | None:
    """The container's monitor connection: now if it runs, else from the ``start`` that comes
    (or, started by another front end, by polling); None if it ended first."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()
    request.app[PENDING_ATTACH].setdefault(cid, []).append(future)
    try:
        while True:
            found = await workers(request).call(_attach_now, cid)
            if found is not None:
                return found
            with contextlib.suppress(asyncio.TimeoutError):
                return await asyncio.wait_for(asyncio.shield(future), 0.25)
            if future.done():
                return future.result()
    except NotFound:
        return None
    finally:
        waiting = request.app[PENDING_ATTACH].get(cid, [])
        if future in waiting:
            waiting.remove(future)
        if not waiting:
            request.app[PENDING_ATTACH].pop(cid, None)


async def relay(out: Hijacked, sock: socket.socket, tty: bool, streams: set[str], stdin: bool) -> None:
    """Relay between the monitor and the client until the payload's exit."""
    from stdc import attach

    loop = asyncio.get_running_loop()
    sock.setblocking(False)

    async def pump_input() -> None:
        while True:
            data = await out.read()
            if not data:
                with contextlib.suppress(OSError):
                    await loop.sock_sendall(sock, b"e")
                return
            for start in range(0, len(data), 32768):
                await loop.sock_sendall(sock, b"i" + data[start : start + 32768])

    inputs = asyncio.ensure_future(pump_input()) if stdin else None
    try:
        while True:
            packet = await loop.sock_recv(sock, 1 << 17)
            if not packet or packet[0] == attach.EXIT:
                return
            name = "stderr" if packet[0] == attach.STDERR else "stdout"
            if name in streams and not await out.write(framing.encode(packet[0], packet[1:], tty)):
                return
    finally:
        if inputs is not None:
            inputs.cancel()
        sock.close()


async def attach_container(request: web.Request) -> web.StreamResponse:
    """``POST /containers/{id}/attach``: stream, stdin, stdout, stderr, logs (hijacked)."""
    ref = request.match_info["id"]
    c = await workers(request).call(containers.get, ref)
    tty = await workers(request).call(containers.has_terminal, c.id)
    streams = {s for s in ("stdout", "stderr") if query_bool(request, s)}
    out = await hijack(request, framing.content_type(tty))
    if query_bool(request, "logs"):
        await _replay_logs(request, out, c.id, tty, streams)
    if query_bool(request, "stream"):
        attachment = await _attachment(request, c.id)
        if attachment is not None:
            stdin = query_bool(request, "stdin") and attachment.interactive
            await relay(out, attachment.socket, tty, streams, stdin)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await out.response.write_eof()
    return out.response


def hand_attachment(app: web.Application, cid: str, attachment: Attachment) -> bool:
    """Give a monitor connection made by ``start`` to the first attach client waiting; False if none waits."""
    for future in app[PENDING_ATTACH].get(cid, []):
        if not future.done():
            future.set_result(attachment)
            return True
    return False


def waiting_attach(app: web.Application, cid: str) -> bool:
    """Whether an attach client waits for the container ``cid`` to start."""
    return any(not f.done() for f in app[PENDING_ATTACH].get(cid, []))


def stats_document(engine: Engine, ref: str, previous: dict | None) -> dict:
    """Docker's stats JSON of the container now (``previous``: the last one, for precpu_stats)."""
    from stdc.engine.options import iso_time

    c = containers.get(engine, ref)
    usage = (containers.stats(engine, ref) or {}) if c.running else {}
    with open("/proc/stat") as f:
        system_ticks = sum(int(v) for v in f.readline().split()[1:8])
    cpus = os.cpu_count() or 1
    cpu = {
        "cpu_usage": {
            "total_usage": int(usage.get("cpu_ns") or 0),
            "usage_in_kernelmode": 0,
            "usage_in_usermode": 0,
        },
        "system_cpu_usage": system_ticks * 10_000_000,  # USER_HZ 100: ticks in ns
        "online_cpus": cpus,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }
    memory = {
        "usage": int(usage.get("memory") or 0),
        "limit": int(usage.get("memory_limit") or 0) or _mem_total(),
        "stats": {},
    }
    return {
        "read": iso_time(time.time()),
        "preread": (previous or {}).get("read") or "0001-01-01T00:00:00Z",
        "id": c.id,
        "name": "/" + c.name,
        "pids_stats": {"current": int(usage.get("pids") or 0)},
        "cpu_stats": cpu,
        "precpu_stats": (previous or {}).get("cpu_stats") or {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
        "memory_stats": memory,
        "blkio_stats": {},
        "networks": {},
        "num_procs": 0,
        "storage_stats": {},
    }


def _mem_total() -> int:
    with open("/proc/meminfo") as f:
        return int(f.readline().split()[1]) * 1024


async def stats(request: web.Request) -> web.StreamResponse:
    """``GET /containers/{id}/stats?stream=&one-shot=``: Docker's JSON, once or every second."""
    ref = request.match_info["id"]
    stream = query_bool(request, "stream", default=True)
    first = await workers(request).call(stats_document, ref, None)
    if not stream:
        if not query_bool(request, "one-shot"):
            await asyncio.sleep(1)  # dockerd's one sample: precpu_stats a second before cpu_stats
            first = await workers(request).call(stats_document, ref, first)
        return web.json_response(first)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    doc = first
    try:
        while True:
            await response.write(json.dumps(doc).encode() + b"\n")
            await asyncio.sleep(1)
            doc = await workers(request).call(stats_document, ref, doc)
            if not doc["pids_stats"]["current"] and not await workers(request).call(
                lambda engine: containers.get(engine, ref).running
            ):
                break
    except (ConnectionError, RuntimeError, NotFound):
        pass
    return response


def register(routes: Routes) -> None:
    """Add the container stream routes."""
    routes.app[PENDING_ATTACH] = {}
    routes.add("POST", "/containers/{id}/wait", wait)
    routes.add("GET", "/containers/{id}/logs", logs)
    routes.add("POST", "/containers/{id}/attach", attach_container)
    routes.add("GET", "/containers/{id}/stats", stats)
