"""``exec``: another process in a running container, forked as a child of the caller into the
init's pid namespace, moved into its cgroups, joined to its other namespaces (the mount
namespace last: it takes this process into the container's root), then finished exactly as the
init was (:func:`stdc_exec_native.process.become_payload`)."""

from __future__ import annotations

import os
from typing import NoReturn

from stdc.kit import child, syscalls
from stdc.kit.ocispec import cgroup_relative

from stdc_exec_native import cgroupdirs, namespaces, process
from stdc_exec_native.userns import become_root

#: the init's namespaces an exec'd process joins (pid by the fork itself), mount last
_JOINED = (("ipc", "ipc"), ("uts", "uts"), ("net", "network"), ("cgroup", "cgroup"), ("mnt", "mount"))


def start(container_id: str, bundle: str, spec: dict, pid: int, proc: dict, stdio: tuple[int, int, int]) -> int:
    """Start ``proc`` (an OCI ``process``) in the container whose init is ``pid``; return the
    new process's pid once it was executed."""
    plan = process.Plan({**spec, "process": proc}, bundle)
    # those it has: a container started by an older stdc may lack a hierarchy
    dirs = [d for d in cgroupdirs.directories(cgroup_relative(spec, container_id)) if os.path.isdir(d)]
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        new = namespaces.fork_in_pid_namespace(f"/proc/{pid}/ns/pid")
    except BaseException:
        os.close(err_w)
        os.close(err_r)
        raise
    if new == 0:
        _child(plan, pid, dirs, stdio, err_w)
    os.close(err_w)
    report = child.read_report(err_r)
    if not report:
        return new
    os.waitpid(new, 0)
    raise child.reported_error(report)


def _child(plan: process.Plan, pid: int, dirs: list[str], stdio: tuple[int, int, int], err_w: int) -> NoReturn:
    """The forked child: join the container, become the payload; on failure report and exit."""
    try:
        err_w = child.own_process(stdio, err_w, plan.terminal)
        # all opened first: once in the container's mount namespace, the host's /proc is gone
        joins = [
            (os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), syscalls.NAMESPACE_FLAGS[kind])
            for name, kind in _JOINED
        ]
        # a container in a user namespace: entered last, as its init did after pivot_root
        userns_fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC) if plan.userns else -1
        cgroupdirs.join(dirs)  # before the cgroup namespace: the paths are the host's
        for fd, flag in joins:
            syscalls.setns(fd, flag)
            os.close(fd)
        if userns_fd >= 0:
            become_root(userns_fd)
        process.become_payload(plan)
    except BaseException as e:  # noqa: B036 - whatever happens, the caller hears of it and we exit
        code, line = child.failure_report(e, "exec")
        try:
            os.write(err_w, line)
        finally:
            os._exit(code)
