"""Health checks (``--health-*``, the image's HEALTHCHECK): run as execs in the container, their
results kept in the bundle's ``health.json`` in Docker's shape (``Status`` starting, healthy or
unhealthy, ``FailingStreak``, ``Log`` of the last five results) for ``inspect`` and ``ps``.

Who runs them: the container's monitor (libexec/stdc-monitor.c), which lives exactly as long as
the payload whether or not any stdc command does, runs ``BUNDLE/healthcheck`` on a timer
(``-H MS``), one at a time. That small script execs ``stdc internal-health ID``:
:func:`check` decides whether a check is due (the start interval during the start period, the
interval after it), runs it with its timeout and records the result. The monitor stays a few
pages of C; a Python process exists only while a check runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
import time
from typing import TYPE_CHECKING

from stdc.engine.options import iso_time
from stdc.engine.run_config import health_timing

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.execs import Exec
    from stdc.engine.state import Container

HEALTH_FILE = "health.json"
SCRIPT = "healthcheck"
#: docker keeps the last five results, and at most 4096 bytes of a check's output
LOG_ENTRIES = 5
MAX_OUTPUT = 4096
#: the exit code docker records for a check that outlived its timeout
TIMED_OUT = -1


def command(c: Container) -> list[str] | None:
    """The check's command (``CMD-SHELL`` through ``/bin/sh -c``), None when it has none."""
    test = (c.config.get("Healthcheck") or {}).get("Test") or []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:]) if test[0] == "CMD" else list(test)


def monitor_flags(engine: Engine, c: Container) -> list[str]:
    """Before a start: the monitor's ``-H`` flag and the script it runs, a fresh ``starting``
    state; nothing for a container without a check."""
    if command(c) is None:
        return []
    bundle = engine.bundle(c)
    timing = health_timing(c.config["Healthcheck"])
    period = timing["StartInterval"] if timing["StartPeriod"] else timing["Interval"]
    tick_ms = max(1, min(timing["Interval"], period) // 10**6)
    script = os.path.join(bundle, SCRIPT)
    with open(script + ".tmp", "w") as f:
        f.write(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m stdc internal-health {c.id}\n")
    os.chmod(script + ".tmp", 0o755)
    os.replace(script + ".tmp", script)
    _save(bundle, {"Status": "starting", "FailingStreak": 0, "Log": []})
    return ["-H", str(tick_ms)]


def state(engine: Engine, c: Container) -> dict | None:
    """``State.Health`` of a container with a check, as ``inspect`` shows it."""
    if command(c) is None:
        return None
    try:
        with open(os.path.join(engine.bundle(c), HEALTH_FILE)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return {"Status": "starting" if c.running else "unhealthy", "FailingStreak": 0, "Log": []}


def status(engine: Engine, c: Container) -> str | None:
    """``starting``, ``healthy`` or ``unhealthy`` for a running container with a check, else None."""
    found = state(engine, c) if c.running else None
    return found["Status"] if found else None


def check(engine: Engine, ref: str) -> None:
    """Run by the monitor's script: one check if one is due, its result recorded."""
    c = engine.container(ref)
    argv = command(c)
    if argv is None or not c.running:
        return
    bundle = engine.bundle(c)
    timing = health_timing(c.config["Healthcheck"])
    health = state(engine, c) or {}
    starting = time.time() < (c.started or 0) + timing["StartPeriod"] / 1e9
    wait = timing["StartInterval"] if starting else timing["Interval"]
    last = health["Log"][-1]["End"] if health.get("Log") else None
    if last is not None and time.time() - last < wait / 1e9 * 0.9:  # the tick of the other period
        return
    began = time.time()
    code, output = _run(engine, c.id, argv, timing["Timeout"] / 1e9)
    entry = {"Start": began, "End": time.time(), "ExitCode": code, "Output": output}
    before = health.get("Status")
    if code == 0:
        health.update(Status="healthy", FailingStreak=0)
    elif not (starting and before == "starting"):  # failures in the start period do not count
        health["FailingStreak"] = health.get("FailingStreak", 0) + 1
        if health["FailingStreak"] >= timing["Retries"]:
            health["Status"] = "unhealthy"
    health["Log"] = [*health.get("Log", []), entry][-LOG_ENTRIES:]
    if not engine.container(ref).running:
        return  # ended meanwhile: the check failed because of that, say nothing
    _save(bundle, health)
    if health["Status"] != before:
        engine.record_container(c, f"health_status: {health['Status']}")


def shown(health: dict | None) -> dict | None:
    """``State.Health`` with its log's times in RFC 3339, as docker shows them."""
    if health is None:
        return None
    log = [{**e, "Start": iso_time(e["Start"]), "End": iso_time(e["End"])} for e in health.get("Log", [])]
    return {**health, "Log": log}


def _run(engine: Engine, ref: str, argv: list[str], timeout: float) -> tuple[int, str]:
    """Exec ``argv`` in the container, its output (both streams) captured; (exit code, output),
    -1 once ``timeout`` has passed."""
    from stdc.engine import execs
    from stdc.errors import StdcError

    capture = os.memfd_create("health-output")
    saved = os.dup(1), os.dup(2)
    try:
        os.dup2(capture, 1)
        os.dup2(capture, 2)
        try:
            started = execs.start(engine, ref, execs.ExecOptions(command=argv))
        except StdcError as e:
            return 1, str(e)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
        code = _wait(started, timeout)
        os.lseek(capture, 0, os.SEEK_SET)
        output = os.read(capture, MAX_OUTPUT).decode(errors="replace")
        if code == TIMED_OUT:
            output = f"Health check exceeded timeout ({timeout:g}s)"
        return code, output
    finally:
        for fd in (capture, *saved):
            os.close(fd)


def _wait(started: Exec, timeout: float) -> int:
    """The exec's exit code, or :data:`TIMED_OUT` (it is killed) after ``timeout`` seconds."""
    import signal

    pid = started.pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return TIMED_OUT


def _save(bundle: str, health: dict) -> None:
    path = os.path.join(bundle, HEALTH_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(health, f)
    os.replace(path + ".tmp", path)
