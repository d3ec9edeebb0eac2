"""Exec: create, start (detached, or hijacked with a terminal or framed pipes), resize, inspect.

An exec instance lives in the server's memory (as dockerd's do); its process is this server's
child, reaped by a worker thread, which records its exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from stdc.dockerapi import framing
from stdc.dockerapi.hijack import Hijacked, hijack, read_fd, write_fd
from stdc.dockerapi.request_kit import Routes, json_body, json_object, query_int, workers
from stdc.dockerapi.status_codes import ApiError, bad_request
from stdc.engine import containers, execs
from stdc.errors import Conflict


@dataclass
class ExecInstance:
    """One exec: what was asked, and its process once started."""

    id: str
    container_id: str
    config: dict
    pid: int = 0
    running: bool = False
    exit_code: int | None = None
    terminal: int | None = None
    started: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


EXECS: web.AppKey[dict[str, ExecInstance]] = web.AppKey("execs", dict)


def _instance(request: web.Request) -> ExecInstance:
    found = request.app[EXECS].get(request.match_info["id"])
    if found is None:
        raise ApiError(404, f"No such exec instance: {request.match_info['id']}")
    return found


#: finished exec instances kept for inspection (dockerd keeps them until the container goes)
KEEP_FINISHED = 1000


def _forget_old(instances: dict[str, ExecInstance]) -> None:
    """Forget the oldest finished instances past :data:`KEEP_FINISHED`: a long-lived server's
    memory does not grow with every exec ever run."""
    finished = [key for key, i in instances.items() if i.done.is_set()]
    for key in finished[: max(0, len(finished) - KEEP_FINISHED)]:
        del instances[key]


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{key} must be a list of strings")
    return value


async def create(request: web.Request) -> web.Response:
    """``POST /containers/{id}/exec``: 201 with the exec's ``Id``; 409 unless the container runs."""
    body = json_object(await json_body(request), "the exec config")
    cmd = _strings(body.get("Cmd"), "Cmd")
    if not cmd:
        raise bad_request("No exec command specified")
    _strings(body.get("Env"), "Env")
    if body.get("Privileged"):
        raise bad_request("privileged exec is not supported by stdc")
    c = await workers(request).call(containers.get, request.match_info["id"])
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    if c.paused:
        raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
    instance = ExecInstance(os.urandom(32).hex(), c.id, body)
    _forget_old(request.app[EXECS])
    request.app[EXECS][instance.id] = instance
    return web.json_response({"Id": instance.id}, status=201)


def _options(instance: ExecInstance, detach: bool, tty: bool, stdio: tuple[int, int, int] | None) -> execs.ExecOptions:
    config = instance.config
    size = config.get("ConsoleSize")
    return execs.ExecOptions(
        command=list(config["Cmd"]),
        env=_strings(config.get("Env"), "Env"),
        user=config.get("User") or None,
        workdir=config.get("WorkingDir") or None,
        detach=detach,
        interactive=bool(config.get("AttachStdin")),
        tty=tty,
        size=(int(size[0]), int(size[1])) if tty and size and size[0] and size[1] else None,
        stdio=stdio,
    )


async def _reap(request: web.Request, instance: ExecInstance, process: execs.Exec) -> None:
    instance.exit_code = await workers(request).run(process.wait)
    instance.running = False
    instance.done.set()


async def _started(request: web.Request, instance: ExecInstance, opts: execs.ExecOptions) -> execs.Exec:
    if instance.started:
        raise Conflict(f"Exec {instance.id} has already been started")
    instance.started = True
    try:
        process = await workers(request).call(execs.start, instance.container_id, opts)
    except BaseException:
        instance.exit_code = 126
        instance.done.set()
        raise
    instance.pid, instance.running, instance.terminal = process.pid, True, process.terminal
    asyncio.ensure_future(_reap(request, instance, process))
    return process


async def start(request: web.Request) -> web.StreamResponse:
    """``POST /exec/{id}/start``: detached (200 at once) or hijacked until the process ends. The
    process starts once the connection is hijacked: a client reading the answer's headers
    through a buffer (docker-py) never has the first output swallowed with them."""
    instance = _instance(request)
    body = json_object(await json_body(request), "the exec start config")
    # as dockerd: the process has a terminal if the exec was created with one; the answer is
    # framed unless the start asks for Tty (docker-py starts a tty exec with Tty=false: framed)
    tty = bool(instance.config.get("Tty"))
    framed = not body.get("Tty", False)
    if body.get("Detach"):
        await _started(request, instance, _options(instance, True, False, None))
        return web.Response(status=200)
    if instance.started:
        raise Conflict(f"Exec {instance.id} has already been started")
    c = await workers(request).call(containers.get, instance.container_id)
    if not c.running:
        raise Conflict(f"Container {c.id} is not running")
    out = await hijack(request, framing.MULTIPLEXED_STREAM if framed else framing.RAW_STREAM)
    stdin = bool(instance.config.get("AttachStdin"))
    try:
        if tty:
            process = await _started(request, instance, _options(instance, False, True, None))
            assert process.terminal is not None
            await _relay(out, (process.terminal, None), framed, os.dup(process.terminal), False, stdin, instance)
        else:
            await _start_piped(request, out, instance, stdin, framed)
    except Exception as e:  # noqa: BLE001 - the answer's status is sent: tell it in the stream
        message = (str(e) + "\n").encode()
        await out.write(framing.frame(framing.STDERR, message) if framed else message)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await out.response.write_eof()
    return out.response


async def _start_piped(request: web.Request, out: Hijacked, instance: ExecInstance, stdin: bool, framed: bool) -> None:
    """Start the process on pipes of ours and relay them until it ends."""
    stdin_r, stdin_w = os.pipe() if stdin else (None, None)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        opts = _options(instance, False, False, (stdin_r if stdin_r is not None else null, out_w, err_w))
        await _started(request, instance, opts)
    except BaseException:
        for fd in (stdin_w, out_r, err_r):
            if fd is not None:
                os.close(fd)
        raise
    finally:
        for fd in (stdin_r, out_w, err_w, null):
            if fd is not None:
                os.close(fd)
    await _relay(out, (out_r, err_r), framed, stdin_w, True, stdin_w is not None, instance)


async def _relay(
    out: Hijacked,
    outputs: tuple[int, int | None],
    framed: bool,
    input_fd: int | None,
    input_is_pipe: bool,
    stdin: bool,
    instance: ExecInstance,
) -> None:
    """Copy the process's output (stdout, and stderr unless None) to the client, framed or raw,
    and the client's input to ``input_fd``, until the output ends and the process has exited."""

    async def copy(fd: int, stream: int) -> None:
        async for data in read_fd(fd):
            if not await out.write(framing.frame(stream, data) if framed else data):
                return

    async def pump_input() -> None:
        assert input_fd is not None
        os.set_blocking(input_fd, False)
        try:
            while data := await out.read():
                await write_fd(input_fd, data)
        finally:
            if input_is_pipe:  # its end is the process's EOF (a terminal stays open)
                os.close(input_fd)

    inputs = asyncio.ensure_future(pump_input()) if stdin and input_fd is not None else None
    first, second = outputs
    copies = [copy(first, framing.STDOUT)] + ([copy(second, framing.STDERR)] if second is not None else [])
    try:
        await asyncio.gather(*copies)
        await instance.done.wait()
    finally:
        if inputs is not None:
            inputs.cancel()
        if input_fd is not None and (not input_is_pipe or inputs is None):
            with contextlib.suppress(OSError):
                os.close(input_fd)


async def resize(request: web.Request) -> web.Response:
    """``POST /exec/{id}/resize?h=&w=``: the size of the exec's terminal."""
    from stdc.kit.console import set_size

    instance = _instance(request)
    rows, columns = query_int(request, "h", 0), query_int(request, "w", 0)
    if instance.terminal is not None and instance.running and rows and columns:
        with contextlib.suppress(OSError):
            set_size(instance.terminal, rows, columns)
    return web.Response(status=201)


async def inspect(request: web.Request) -> web.Response:
    """``GET /exec/{id}/json``: Running, Pid and ExitCode among dockerd's fields."""
    instance = _instance(request)
    config = instance.config
    cmd = list(config.get("Cmd") or [])
    return web.json_response(
        {
            "ID": instance.id,
            "Running": instance.running,
            "ExitCode": instance.exit_code,
            "Pid": instance.pid,
            "ContainerID": instance.container_id,
            "OpenStdin": bool(config.get("AttachStdin")),
            "OpenStdout": bool(config.get("AttachStdout")),
            "OpenStderr": bool(config.get("AttachStderr")),
            "CanRemove": False,
            "DetachKeys": config.get("DetachKeys") or "",
            "ProcessConfig": {
                "tty": bool(config.get("Tty")),
                "entrypoint": cmd[0] if cmd else "",
                "arguments": cmd[1:],
                "privileged": False,
                "user": config.get("User") or "",
            },
        }
    )


def register(routes: Routes) -> None:
    """Add the exec routes."""
    routes.app[EXECS] = {}
    routes.add("POST", "/containers/{id}/exec", create)
    routes.add("POST", "/exec/{id}/start", start)
    routes.add("POST", "/exec/{id}/resize", resize)
    routes.add("GET", "/exec/{id}/json", inspect)
