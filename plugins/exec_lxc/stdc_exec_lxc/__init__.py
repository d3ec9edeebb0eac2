"""lxc: the OCI runtime spec carried out by LXC, driven through the python-lxc binding.

The spec becomes configuration items on an ``lxc.Container`` whose container path is the
container's own ``<bundle>/lxc`` (never /var/lib/lxc); liblxc builds and starts it in a child of
the caller that stays its monitor and exits with the payload's status (see
:mod:`stdc_exec_lxc.process`). Its cgroups live at the spec's ``cgroupsPath`` (``stdc/<id>``),
its monitor's beside them (``stdc/<id>.lxc-monitor``).

``exec_stats``, ``exec_processes``, ``exec_pause`` and ``exec_update`` are :mod:`stdc.kit.cgrouphooks`' as they
are: the container's cgroup holds the payload alone (the monitor has its own), and it is frozen
directly, not through liblxc's command socket, so the monitor stays responsive (and forwards
signals) while the payload is frozen.
"""

from __future__ import annotations

import contextlib
import os
import signal as signals

from stdc.kit.cgrouphooks import exec_pause, exec_processes, exec_stats, exec_update  # noqa: F401 - as they are
from stdc.kit.deferredhooks import deferred
from stdc.specs import executor, hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


def _lxcpath(bundle: str) -> str:
    return os.path.join(bundle, "lxc")


@hookimpl
def exec_unusable() -> str | None:
    from stdc_exec_lxc import binding

    if os.geteuid() != 0:
        return "needs root"
    reason = binding.unusable()
    if reason:
        return reason
    if not os.path.isdir("/sys/fs/cgroup"):
        return "no cgroup filesystem at /sys/fs/cgroup"
    return None


@hookimpl
def stdc_warm_up() -> None:
    """In a long-lived stdc daemon: load the binding and the start path once."""
    from stdc_exec_lxc import binding, process, seccomp  # noqa: F401

    binding.unusable()


# the start and exec paths are imported only by the commands that run them
exec_start = deferred(executor.exec_start, "stdc_exec_lxc.process:start")
exec_exec = deferred(executor.exec_exec, "stdc_exec_lxc.execute:start")


@hookimpl
def exec_kill(container_id: str, bundle: str, pid: int, signal: int) -> None:
    """Signal the container's init, which liblxc's command socket names; while there is none
    (still starting, or gone), signal the monitor, which forwards what it can catch."""
    from stdc_exec_lxc import binding

    init = binding.container(container_id, _lxcpath(bundle)).init_pid
    if init > 0:
        try:
            pidfd = os.pidfd_open(init)
        except ProcessLookupError:
            pass
        else:
            try:
                signals.pidfd_send_signal(pidfd, signal)
                return
            except ProcessLookupError:
                pass
            finally:
                os.close(pidfd)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal)


@hookimpl
def exec_cleanup(container_id: str, bundle: str, spec: dict) -> None:
    from stdc.errors import StdcError
    from stdc.kit import cgroups

    from stdc_exec_lxc import binding, cleanup, translate

    lxcpath = _lxcpath(bundle)
    try:
        relative = translate.cgroup_relative(spec, container_id)
    except StdcError:
        relative = None  # exec_start refused this path before creating anything
    if os.path.isdir(lxcpath) and binding.unusable() is None:
        c = binding.container(container_id, lxcpath)
        if c.running:
            if relative:
                cgroups.thaw_if_frozen(relative)  # a paused container stops only once thawed
            c.stop()
        if c.defined:
            # destroy removes the config dir; without a rootfs it leaves the bundle's rootfs alone
            c.clear_config_item("lxc.rootfs.path")
            c.destroy()
    if relative:
        cleanup.remove_cgroups(relative)
    cleanup.remove_files(lxcpath)


@hookimpl
def exec_exit_state(container_id: str, bundle: str, spec: dict) -> dict | None:
    """From what the container's stop hook saved (see :data:`translate.EXIT_MEMORY_EVENTS`)."""
    from stdc.kit import cgroups

    from stdc_exec_lxc import translate

    try:
        with open(os.path.join(_lxcpath(bundle), container_id, translate.EXIT_MEMORY_EVENTS)) as f:
            return {"oom_killed": cgroups.oom_kills(f.read()) > 0}
    except FileNotFoundError:
        return None  # never started, or liblxc died before its stop hook ran


@hookimpl
def exec_orphans(root: str, cgroup_parent: str, live_ids: list[str]) -> list[str]:
    """Orphaned cgroups (the container's and its monitor's ``<id>.lxc-monitor``) and lock dirs."""
    from stdc.kit import cgroups

    from stdc_exec_lxc import cleanup

    live = set(live_ids)
    return cgroups.orphans(cgroup_parent, live) + cleanup.orphan_locks(root, live)


@hookimpl
def exec_remove_orphan(root: str, cgroup_parent: str, orphan: str) -> None:
    """Remove one leftover :func:`exec_orphans` named."""
    from stdc.kit import cgroups

    from stdc_exec_lxc import cleanup

    if not cleanup.remove_orphan_lock(root, orphan) and orphan.startswith(cgroup_parent + "/"):
        cgroups.remove_everywhere(orphan)
