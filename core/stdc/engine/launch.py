"""Starting a container under its monitor: the checks and preparations every start shares, the
fork whose child starts the payload through the executor and then execs the monitor, and the
record of a start. Detached, the monitor outlives this process and cleans up; in the
foreground, this process waits for it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stdc.engine import kernel_options, monitor, networks, teardown
from stdc.errors import Conflict, StdcError
from stdc.kit.processes import process_start_time

if TYPE_CHECKING:
    import socket

    from stdc.engine.context import Engine
    from stdc.engine.state import Container

#: ``on_signal(forward)``: receives the function that signals the running payload
SignalHook = Callable[[Callable[[int], None]], None]


def allow_restarts(engine: Engine, c: Container) -> None:
    """A start by the user: the container's restart policy applies again (the one place that
    clears ``stopped_by_user``)."""
    if c.stopped_by_user:
        engine.state.update(c.id, stopped_by_user=0)
        c.stopped_by_user = False


def run_foreground(engine: Engine, c: Container, on_signal: SignalHook) -> int:
    """Run the container attached: its output on our stdout/stderr; return its exit code.

    ``on_signal`` receives a function that forwards a signal to the payload, for the caller
    to install as its signal handler.
    """
    executor, monitor_pid, pid, _ = _launch(engine, c, detach=False)
    bundle = engine.bundle(c)
    on_signal(lambda sig: executor.hook.exec_kill(container_id=c.id, bundle=bundle, pid=pid, signal=sig))
    os.waitpid(monitor_pid, 0)
    recorded = monitor.read_exit(bundle)
    teardown.finish(engine, c)
    if recorded is None or recorded["exit_code"] is None:
        raise StdcError(f"the monitor of container {c.name} died before the payload's exit was recorded")
    return recorded["exit_code"]


def start_detached(
    engine: Engine, c: Container, *, attach: bool = False, size: tuple[int, int] | None = None
) -> socket.socket | None:
    """Start the container under its monitor, which outlives this process and cleans up.

    With ``attach``, return a socket already connected to the monitor (see
    :mod:`stdc.attach`): nothing the payload writes is missed. ``size`` (rows, columns)
    is the initial size of the container's terminal, if it has one.
    """
    return _launch(engine, c, detach=True, attach=attach, size=size)[3]


def _begin(engine: Engine, c: Container) -> tuple[Any, dict, list]:
    """Checks and preparations shared by every way of starting a container."""
    c = engine.refresh(c)
    if c.running:
        raise Conflict(f"container {c.name} is already running")
    if not c.cleaned:
        teardown.finish(engine, c)
    executor = engine.backend("exec", c.backends["exec"])
    spec, mounts = engine.run_files(c)
    kernel_options.rejoin(engine, c, spec)  # --pid/--ipc container:X, as X runs now
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(engine.bundle(c), monitor.EXIT_FILE))
    # before the first namespace, link or cgroup exists: the record owns them from now on, and
    # names this process as the one at work (reconcile finishes the start of a dead one)
    engine.state.update(c.id, cleaned=0, busy_pid=os.getpid(), busy_start=process_start_time(os.getpid()))
    c.cleaned = False
    try:
        networks.up(engine, c)
    except BaseException:
        teardown.failed_start(engine, c, executor, spec)
        raise
    return executor, spec, mounts


def _launch(
    engine: Engine, c: Container, *, detach: bool, attach: bool = False, size: tuple[int, int] | None = None
) -> tuple[Any, int, int, Any]:
    """Fork; the child starts the container (so the payload is its child) and becomes its
    monitor. Returns the executor, the monitor's pid, the payload's pid and, with
    ``attach``, a socket connected to the monitor."""
    import json
    import socket

    executor, spec, mounts = _begin(engine, c)
    binary = monitor.binary(engine.root)
    options = monitor.log_flags(c.config)
    if c.config.get("Healthcheck"):
        from stdc.engine import health

        options += health.monitor_flags(engine, c)
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) if attach else (None, None)
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the monitor-to-be
        os.close(report_r)
        _become_monitor(engine, c, executor, spec, mounts, report_w, [binary, *options], detach, server, size)
    os.close(report_w)
    if server is not None:
        server.close()
    with os.fdopen(report_r, "rb") as f:
        raw = f.read()
    report = json.loads(raw) if raw else {"error": "the monitor died while starting the container"}
    if "error" in report:
        os.waitpid(child, 0)
        if client is not None:
            client.close()
        teardown.failed_start(engine, c, executor, spec)
        from stdc.errors import PayloadError

        raise PayloadError(report["error"], report.get("code", 125))
    _started(engine, c, report["pid"], child, keep_busy=not detach)
    return executor, child, report["pid"], client


def _become_monitor(
    engine: Engine,
    c: Container,
    executor: Any,
    spec: dict,
    mounts: list,
    report_w: int,
    monitor_argv: list[str],
    detach: bool,
    client: Any = None,
    size: tuple[int, int] | None = None,
) -> None:
    """In the forked child: start the container, report its pid, exec the monitor. Never returns."""
    import fcntl
    import json
    import sys

    bundle = engine.bundle(c)
    pid = None
    report_w = fcntl.fcntl(report_w, fcntl.F_DUPFD_CLOEXEC, 100)  # clear of the monitor's 3-7
    try:
        interactive = bool(c.config.get("interactive"))
        terminal = bool((spec.get("process") or {}).get("terminal"))
        attached = c.config.get("Attach") or ["stdin", "stdout", "stderr"]
        stdin = os.dup(0) if interactive and "stdin" in attached and not detach and not terminal else None
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        if not detach:  # -a: the streams left out are not echoed (the log still has them)
            for fd, stream in ((1, "stdout"), (2, "stderr")):
                if stream not in attached:
                    os.dup2(null, fd)
        if detach:
            os.setsid()
            side_log = os.open(os.path.join(bundle, monitor.MONITOR_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(side_log, 1)
            os.dup2(side_log, 2)
        else:
            os.setpgid(0, 0)  # the terminal's ^C reaches the CLI, which forwards it, not the monitor
        io = {"terminal": terminal, "interactive": interactive, "stdin": stdin, "client": client, "size": size}
        wiring = monitor.Wiring(bundle, null, executor, detach=detach, **io)
        if terminal:
            from stdc.kit.console import with_console_size

            spec = with_console_size(spec, size)
        pid = executor.hook.exec_start(
            container_id=c.id,
            bundle=bundle,
            spec=spec,
            rootfs_mounts=mounts,
            stdio=wiring.stdio,
            console_socket=wiring.console_socket,
        )
        wiring.hand_over()
        flags = wiring.flags if detach else ["--echo", *wiring.flags]
        argv = [*monitor_argv, *flags, bundle, str(pid)]
        if detach:
            argv += [sys.executable, "-m", "stdc", "internal-cleanup", c.id]
        # for the cleanup and the health checks the monitor runs
        os.environ.update(STDC_ROOT=engine.root, STDC_RUNTIME_DIR=engine.config.runtime_dir)
        os.write(report_w, json.dumps({"pid": pid}).encode())
        os.closerange(8, 65536)
        os.execv(argv[0], argv)
    except StdcError as e:
        if pid is not None:  # e.g. no terminal came over the console socket: no payload unmonitored
            os.kill(pid, 9)
        os.write(report_w, json.dumps({"error": str(e), "code": e.exit_code}).encode())
    except BaseException as e:  # noqa: BLE001 - the parent must hear about any failure
        if pid is not None:  # the monitor could not be exec'd: no payload without its monitor
            os.kill(pid, 9)
        with contextlib.suppress(OSError):
            os.write(report_w, json.dumps({"error": f"starting the container failed: {e}"}).encode())
    os._exit(1)


def _started(engine: Engine, c: Container, pid: int, monitor_pid: int | None = None, keep_busy: bool = False) -> None:
    """Record a start; ``keep_busy``: this process stays the container's worker (a foreground
    run, which finishes the container itself)."""
    now = time.time()
    values: dict[str, Any] = {
        "status": "running",
        "pid": pid,
        "pid_start": process_start_time(pid),
        "started": now,
        "exit_code": None,
        "finished": None,
        "cleaned": 0,
        "paused": 0,
        "oom_killed": 0,
    }
    if not keep_busy:
        values.update(busy_pid=None, busy_start=None)
    if monitor_pid:
        values.update(monitor_pid=monitor_pid, monitor_start=process_start_time(monitor_pid))
    engine.state.update(c.id, **values)
    for k, v in values.items():
        setattr(c, k, v)
    engine.emit("stdc_container_started", container=teardown.describe(engine, c))
