"""What happens to a container between its start and its end, beside running: pause and
unpause, stats, its processes (``top``), rename, restart, and the restart policy its monitor
applies when the payload exits.

Kept out of :mod:`stdc.engine`, which composes the backends: these only ask the container's
executor (the one that started it) through the executor contract.
"""

from __future__ import annotations

import contextlib
import signal as signals
import sys
import time
from typing import Any

from stdc.errors import Conflict
from stdc.state import Container

#: docker's restart backoff: 100 ms, doubled after each quick exit, at most a minute; a run of
#: 10 s or more starts the doubling over
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 60.0
BACKOFF_RESET = 10.0


def _executor(engine: Any, c: Container) -> tuple[Any, dict]:
    spec, _ = engine._load_run_files(c)
    return engine.backend("exec", c.backends["exec"]), spec


def _running(engine: Any, c: Container) -> Container:
    c = engine.refresh(c)
    if not c.running:
        raise Conflict(f"container {c.name} is not running")
    return c


def pause(engine: Any, c: Container) -> None:
    """Freeze every process of the container (docker pause)."""
    c = _running(engine, c)
    if c.paused:
        raise Conflict(f"container {c.name} is already paused")
    executor, spec = _executor(engine, c)
    executor.hook.exec_pause(container_id=c.id, bundle=engine.bundle(c), spec=spec, paused=True)
    engine.state.update(c.id, paused=1)


def unpause(engine: Any, c: Container) -> None:
    """Thaw a paused container."""
    c = _running(engine, c)
    if not c.paused:
        raise Conflict(f"container {c.name} is not paused")
    executor, spec = _executor(engine, c)
    executor.hook.exec_pause(container_id=c.id, bundle=engine.bundle(c), spec=spec, paused=False)
    engine.state.update(c.id, paused=0)


def thaw_to_end(engine: Any, c: Container, sig: int) -> None:
    """After ``sig`` was sent to a paused container: thaw it if the signal is meant to end it
    (SIGKILL, or the SIGTERM of ``stop``), as docker does; other signals wait for unpause."""
    if c.paused and sig in (signals.SIGKILL, signals.SIGTERM):
        executor, spec = _executor(engine, c)
        executor.hook.exec_pause(container_id=c.id, bundle=engine.bundle(c), spec=spec, paused=False)
        engine.state.update(c.id, paused=0)
        c.paused = False


def stats(engine: Any, c: Container) -> dict | None:
    """The container's cgroup usage (see :func:`stdc.kit.cgroups.usage`), None once it has exited."""
    executor, spec = _executor(engine, c)
    return executor.hook.exec_stats(container_id=c.id, bundle=engine.bundle(c), spec=spec)


def processes(engine: Any, c: Container) -> list[int]:
    """The host pids of the container's processes."""
    c = _running(engine, c)
    executor, spec = _executor(engine, c)
    return sorted(executor.hook.exec_processes(container_id=c.id, bundle=engine.bundle(c), spec=spec) or [])


def exit_state(engine: Any, c: Container, executor: Any, spec: dict) -> dict:
    """The columns to record of an exited container, read before its cgroups go."""
    state = executor.hook.exec_exit_state(container_id=c.id, bundle=engine.bundle(c), spec=spec) or {}
    return {"oom_killed": int(bool(state.get("oom_killed"))), "paused": 0}


def rename(engine: Any, c: Container, name: str) -> None:
    """Give the container a new, unique name (docker's name syntax)."""
    import re

    from stdc.errors import BadInput

    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name):
        raise BadInput(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    if name == c.name:
        raise Conflict(f"Renaming a container with the same name as its current name ({name})")
    engine.state.rename(c.id, name)


def restart(engine: Any, c: Container, timeout: float) -> None:
    """Stop (``stop -t``) and start the container again, detached."""
    engine.stop(c, timeout)
    engine.state.update(c.id, stopped_by_user=0)  # its restart policy applies again
    engine.start_detached(engine.state.get(c.id))


def policy(c: Container) -> dict:
    return c.config.get("restart_policy") or {"Name": "no", "MaximumRetryCount": 0}


def restart_pending(engine: Any, c: Container) -> bool:
    """Whether the exited ``c`` may yet be started again by its policy: its monitor, which
    applies the policy, is still there."""
    return not c.running and policy(c)["Name"] != "no" and engine.monitor_alive(c)


def wants_restart(c: Container) -> bool:
    """Whether the restart policy of the exited container ``c`` starts it again."""
    p = policy(c)
    if c.stopped_by_user or c.config.get("auto_remove") or p["Name"] == "no":
        return False
    if p["Name"] == "always":
        return True
    failed = c.exit_code != 0
    return failed and (not p["MaximumRetryCount"] or c.restart_count < p["MaximumRetryCount"])


def after_exit(engine: Any, container_id: str) -> None:
    """Run by the container's monitor once the payload has exited and been cleaned up: apply
    the restart policy. A stop, kill or rm by the user (even during the backoff) prevents it."""
    from stdc.errors import NotFound

    try:
        c = engine.state.get(container_id)
    except NotFound:
        return
    if not wants_restart(c):
        return
    ran = (c.finished or time.time()) - (c.started or 0)
    delay = BACKOFF_FIRST if ran >= BACKOFF_RESET else min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(c.restart_count, 10))
    engine.state.update(c.id, status="restarting")
    deadline = time.monotonic() + delay
    while time.monotonic() < deadline:
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        try:
            c = engine.state.get(container_id)
        except NotFound:
            return  # removed meanwhile
        if c.stopped_by_user:
            engine.state.update(c.id, status="exited")
            return
    engine.state.update(c.id, status="exited", restart_count=c.restart_count + 1)
    c = engine.state.get(container_id)
    if c.stopped_by_user:
        return
    try:
        engine.start_detached(c)
    except Exception as e:  # noqa: BLE001 - recorded in the monitor's log; the container stays exited
        print(f"stdc: restart of {c.name} failed: {e}", file=sys.stderr)
        return
    with contextlib.suppress(NotFound):
        c = engine.state.get(container_id)
        if c.stopped_by_user:  # stopped while it was being started
            engine.stop(c)


def host_config(c: Container) -> dict:
    """Docker's HostConfig fields of what the container was asked for (``stdc inspect``)."""
    resources = c.config.get("resources") or {}
    memory, cpu = resources.get("memory") or {}, resources.get("cpu") or {}
    quota, period = cpu.get("quota"), cpu.get("period")
    return {
        "RestartPolicy": policy(c),
        "Memory": memory.get("limit", 0),
        "MemorySwap": memory.get("swap", 0),
        "NanoCpus": int(quota * 1e9 / period) if quota and period else 0,
        "CpuShares": cpu.get("shares", 0),
        "CpusetCpus": cpu.get("cpus", ""),
        "PidsLimit": (resources.get("pids") or {}).get("limit"),
    }
