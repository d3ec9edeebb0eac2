"""How a container ends: kill, stop, wait, finish (release what the backends hold for it once
its payload has exited) and remove — on records, for the verbs of :mod:`stdc.engine.containers`
and for the launch code that must undo a start that failed.

``stopped_by_user`` is set here (a kill or stop ends any restart policy) and cleared only by
:func:`stdc.engine.launch.start`.
"""

from __future__ import annotations

import contextlib
import os
import signal as signals
import time
from typing import TYPE_CHECKING, Any

from stdc.engine import monitor, networks
from stdc.engine.context import wait_process
from stdc.engine.options import signal_number
from stdc.errors import Conflict, StdcError

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container


def set_paused(engine: Engine, c: Container, paused: bool) -> None:
    """Freeze or thaw every process of the container through its executor, and record it."""
    executor, spec = engine.executor(c)
    executor.hook.exec_pause(container_id=c.id, bundle=engine.bundle(c), spec=spec, paused=paused)
    engine.state.update(c.id, paused=int(paused))
    c.paused = paused


def restart_pending(engine: Engine, c: Container) -> bool:
    """Whether the exited ``c`` may yet be started again by its policy: its monitor, which
    applies the policy, is still there."""
    return not c.running and c.restart_policy["Name"] != "no" and engine.monitor_alive(c)


def kill(engine: Engine, c: Container, sig: int = signals.SIGKILL) -> None:
    """Send ``sig`` to the container's init; no restart policy brings it back afterwards."""
    c = engine.refresh(c)
    if restart_pending(engine, c):  # its monitor may start it again: now it will not
        engine.state.update(c.id, stopped_by_user=1)
        return
    if not c.running:
        raise Conflict(f"container {c.name} is not running")
    engine.state.update(c.id, stopped_by_user=1)
    executor = engine.backend("exec", c.backends["exec"])
    executor.hook.exec_kill(container_id=c.id, bundle=engine.bundle(c), pid=c.pid, signal=sig)
    engine.record_container(c, "kill", signal=int(sig))
    # a paused container would never see a signal meant to end it: thaw it, as docker does
    if c.paused and sig in (signals.SIGKILL, signals.SIGTERM, signal_number(c.config.get("StopSignal") or "TERM")):
        set_paused(engine, c, False)


def stop(engine: Engine, c: Container, timeout: float | None = None) -> None:
    """The container's stop signal (``--stop-signal``, the image's STOPSIGNAL, else SIGTERM),
    then SIGKILL after ``timeout`` seconds (None: its ``--stop-timeout``, else 10; -1: never);
    returns once it is cleaned up."""
    c = engine.refresh(c)
    engine.state.update(c.id, stopped_by_user=1)  # also ends a restart policy's backoff
    if timeout is None:
        timeout = c.config.get("StopTimeout")
        timeout = 10 if timeout is None else timeout
    if c.running:
        kill(engine, c, signal_number(c.config.get("StopSignal") or "SIGTERM"))
        deadline = None if timeout < 0 else time.monotonic() + timeout
        if not wait_process(c.pid, c.pid_start, deadline):
            kill(engine, c, signals.SIGKILL)
    wait(engine, c)


def wait(engine: Engine, c: Container, timeout: float | None = None) -> int | None:
    """Wait until the container has exited and been cleaned up; return its exit code."""
    deadline = None if timeout is None else time.monotonic() + timeout
    for pid, start in ((c.pid, c.pid_start), (c.monitor_pid, c.monitor_start)):
        if pid and pid != os.getpid() and not wait_process(pid, start, deadline):
            raise StdcError(f"timed out waiting for container {c.name}")
    c = engine.refresh(engine.state.get(c.id))
    if not c.cleaned:
        finish(engine, c)
        with contextlib.suppress(StdcError):
            c = engine.state.get(c.id)
    return c.exit_code


def wait_monitor(c: Container) -> None:
    """Wait until the container's monitor (and the clean-up it runs) has finished."""
    if c.monitor_pid and c.monitor_pid != os.getpid():
        wait_process(c.monitor_pid, c.monitor_start, None)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(c.monitor_pid, os.WNOHANG)  # reaped here when it is our child


def finish(engine: Engine, c: Container) -> None:
    """Release what the backends hold for an exited container; remove it if it asked for --rm."""
    c = engine.refresh(c)
    if c.running:
        return
    exit_code = c.exit_code
    if not c.cleaned:
        recorded = monitor.read_exit(engine.bundle(c))
        if recorded:
            exit_code = recorded["exit_code"]
        executor, spec = engine.executor(c)
        # read before its cgroups go
        state = executor.hook.exec_exit_state(container_id=c.id, bundle=engine.bundle(c), spec=spec) or {}
        executor.hook.exec_cleanup(container_id=c.id, bundle=engine.bundle(c), spec=spec)
        networks.down(engine, c)
        engine.state.update(
            c.id,
            oom_killed=int(bool(state.get("oom_killed"))),
            paused=0,
            status="exited",
            exit_code=exit_code,
            cleaned=1,
            finished=recorded["finished"] if recorded else time.time(),
            busy_pid=None,
            busy_start=None,
        )
        c.exit_code, c.cleaned = exit_code, True
        engine.emit("stdc_container_exited", container=describe(engine, c), exit_code=exit_code)
    if c.config.get("auto_remove"):
        remove(engine, c, volumes=True)


def failed_start(engine: Engine, c: Container, executor: Any, spec: dict) -> None:
    """Undo a start that failed: what the executor and the network hold; --rm removes it."""
    executor.hook.exec_cleanup(container_id=c.id, bundle=engine.bundle(c), spec=spec)
    networks.down(engine, c)
    engine.state.update(c.id, status="exited", exit_code=None, cleaned=1, busy_pid=None, busy_start=None)
    if c.config.get("auto_remove"):
        remove(engine, engine.state.get(c.id), force=True, volumes=True)


def discard(engine: Engine, c: Container) -> None:
    """Undo a create that failed half-way: snapshot, bundle, record."""
    import shutil

    try:
        storage = engine.backend("storage", c.backends["storage"])
        storage.hook.storage_remove(home=engine.home("storage", c.backends["storage"]), snapshot_id=c.id)
    finally:
        from stdc.engine import volumes

        shutil.rmtree(engine.bundle(c), ignore_errors=True)
        engine.state.delete(c.id)
        volumes.remove_anonymous(engine, c)  # made before the create failed


def remove(engine: Engine, c: Container, force: bool = False, volumes: bool = False) -> None:
    """Remove a container and everything it owns (snapshot, bundle, record); ``volumes`` (``rm -v``,
    ``--rm``): its anonymous volumes too."""
    import shutil

    from stdc.engine import volumes as volume_verbs

    c = engine.refresh(c)
    if c.running:
        if not force:
            raise Conflict(f"container {c.name} is running: stop it first or use rm -f")
        kill(engine, c, signals.SIGKILL)
        wait_process(c.pid, c.pid_start, time.monotonic() + 10)
        if engine.monitor_alive(c):
            wait_process(c.monitor_pid, c.monitor_start, time.monotonic() + 10)
        c = engine.refresh(engine.state.get(c.id))
    if not c.cleaned:
        c.config["auto_remove"] = False  # we are removing it right here
        finish(engine, c)
    networks.down(engine, c)  # a start that failed half-way may have left it
    storage = engine.backend("storage", c.backends["storage"])
    storage.hook.storage_remove(home=engine.home("storage", c.backends["storage"]), snapshot_id=c.id)
    shutil.rmtree(engine.bundle(c), ignore_errors=True)
    engine.state.delete(c.id)
    if volumes:
        volume_verbs.remove_anonymous(engine, c)
    engine.emit("stdc_container_removed", container=describe(engine, c))


def describe(engine: Engine, c: Container) -> dict:
    """What ``stdc inspect`` shows of a container (and what event observers receive)."""
    from stdc.engine.options import iso_time

    return {
        "Id": c.id,
        "Name": c.name,
        "Image": c.image,
        "ImageId": c.image_id,
        "Created": iso_time(c.created),
        "Config": c.config,
        "Backends": c.backends,
        "State": {
            "Status": c.status,
            "Running": c.running,
            "Pid": c.pid if c.running else 0,
            "ExitCode": c.exit_code,
            "StartedAt": iso_time(c.started),
            "FinishedAt": iso_time(c.finished),
            "MonitorPid": c.monitor_pid if c.running else 0,
            "Paused": c.running and c.paused,
            "Restarting": c.status == "restarting",
            "OOMKilled": c.oom_killed,
            **_health(engine, c),
        },
        "RestartCount": c.restart_count,
        "HostConfig": host_config(c),
        "Network": c.network,
        "Mounts": c.config.get("mounts") or [],
        "Bundle": engine.bundle(c),
        "LogPath": os.path.join(engine.bundle(c), monitor.LOG_FILE),
    }


def _health(engine: Engine, c: Container) -> dict:
    """``{"Health": ...}`` for a container with a health check, else nothing."""
    if not c.config.get("Healthcheck"):
        return {}
    from stdc.engine import health

    return {"Health": health.shown(health.state(engine, c))} if health.command(c) else {}


def host_config(c: Container) -> dict:
    """Docker's HostConfig fields of what the container was asked for (``stdc inspect``)."""
    resources = c.config.get("resources") or {}
    memory, cpu = resources.get("memory") or {}, resources.get("cpu") or {}
    quota, period = cpu.get("quota"), cpu.get("period")
    return {
        **(c.config.get("host_config") or {}),  # the kernel-level flags, see stdc.engine.kernel_options
        "RestartPolicy": c.restart_policy,
        "Memory": memory.get("limit", 0),
        "MemorySwap": memory.get("swap", 0),
        "NanoCpus": int(quota * 1e9 / period) if quota and period else 0,
        "CpuShares": cpu.get("shares", 0),
        "CpusetCpus": cpu.get("cpus", ""),
        "PidsLimit": (resources.get("pids") or {}).get("limit"),
    }
