"""native: stdc's own executor, in Python with ctypes — no runc, no helper binary.

The container's init is forked straight into a new pid namespace (as its pid 1) as a child
of the caller, moves itself into the container's cgroups, creates its other namespaces,
mounts its filesystem and pivots into it, masks /proc, drops to the spec's user and
capabilities and executes the payload. See :mod:`stdc_exec_native.process`.
"""

from __future__ import annotations

import contextlib
import os

from stdc.kit.cgrouphooks import (  # noqa: F401 - as they are
    exec_orphans,
    exec_pause,
    exec_processes,
    exec_remove_orphan,
    exec_stats,
    exec_update,
)
from stdc.kit.deferredhooks import deferred
from stdc.kit.ocispec import cgroup_relative
from stdc.specs import executor, hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


@hookimpl
def exec_unusable() -> str | None:
    from stdc_exec_native import capabilities

    if os.geteuid() != 0:
        return "needs root"
    if not capabilities.effective_of_self() >> capabilities.CAP_SYS_ADMIN & 1:
        return "needs CAP_SYS_ADMIN"
    if not os.path.exists("/proc/self/ns/pid"):
        return "kernel without pid namespaces"
    if not os.path.isdir("/sys/fs/cgroup"):
        return "no cgroup filesystem at /sys/fs/cgroup"
    return None


@hookimpl
def stdc_warm_up() -> None:
    """In a long-lived stdc daemon: load what a start needs once, not in every container's init."""
    # process and with it every module the init uses; seccomp, which it loads when a spec asks
    from stdc_exec_native import process, seccomp  # noqa: F401


# the start and exec paths are imported only by the commands that run them
exec_start = deferred(executor.exec_start, "stdc_exec_native.process:start")
exec_create = deferred(executor.exec_create, "stdc_exec_native.process:create")
exec_exec = deferred(executor.exec_exec, "stdc_exec_native.execute:start")


@hookimpl
def exec_kill(container_id: str, bundle: str, pid: int, signal: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal)


@hookimpl
def exec_cleanup(container_id: str, bundle: str, spec: dict) -> None:
    from stdc.errors import StdcError

    from stdc_exec_native import cgroupdirs

    try:
        relative = cgroup_relative(spec, container_id)
    except StdcError:
        return  # exec_start refused this path before creating anything
    cgroupdirs.remove(relative)


def _relative(spec: dict, container_id: str) -> str | None:
    from stdc.errors import StdcError

    try:
        return cgroup_relative(spec, container_id)
    except StdcError:
        return None


@hookimpl
def exec_exit_state(container_id: str, bundle: str, spec: dict) -> dict | None:
    from stdc.kit import cgroups

    relative = _relative(spec, container_id)
    return {"oom_killed": cgroups.oom_killed(relative)} if relative else None
