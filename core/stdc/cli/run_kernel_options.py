"""The kernel-level flags of ``run``/``create`` (issue 17 §2): limits, namespaces, ulimits,
sysctls, ``--mount``, ``--volumes-from``, ``--init`` — docker's names and syntax, parsed into
the engine's :class:`~stdc.engine.kernel_options.KernelFlags` and
:class:`~stdc.engine.kernel_limits.LimitFlags` (the verb checks the values)."""

from __future__ import annotations

from typing import Any

import click

#: click parameter -> field of KernelFlags
_KERNEL = (
    "ulimits", "sysctls", "pid", "ipc", "uts", "cgroupns", "cgroup_parent", "group_add", "shm_size",
    "oom_score_adj", "init", "storage_opt", "cpu_count", "cpu_percent", "io_maxbandwidth", "io_maxiops",
)  # fmt: skip
#: click parameter -> field of LimitFlags
_LIMITS = (
    "memory_reservation", "memory_swappiness", "oom_kill_disable", "kernel_memory", "blkio_weight",
    "blkio_weight_device", "device_read_bps", "device_write_bps", "device_read_iops", "device_write_iops",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpuset_mems", "device_cgroup_rules",
)  # fmt: skip


def _many(name: str, metavar: str, text: str, dest: str | None = None) -> Any:
    return click.option(name, *([dest] if dest else []), multiple=True, metavar=metavar, help=text)


def kernel_options() -> list[Any]:
    """The click options, in ``--help`` order."""
    one = click.option
    return [
        _many("--mount", "type=bind|volume|tmpfs,...", "Attach a filesystem mount (docker's csv syntax).", "mounts"),
        _many("--volumes-from", "CONTAINER[:ro|rw]", "Mount the volumes and binds of another container."),
        one("--init", is_flag=True, help="Run an init (catatonit) as pid 1 that forwards signals and reaps."),
        _many("--ulimit", "NAME=SOFT[:HARD]", "Set a ulimit, e.g. nofile=1024:2048 (-1: unlimited).", "ulimits"),
        _many("--sysctl", "KEY=VALUE", "Set a namespaced sysctl (net.*, fs.mqueue.*, kernel.shm*...).", "sysctls"),
        one("--pid", metavar="MODE", help="PID namespace: host or container:NAME (default: its own)."),
        one("--ipc", metavar="MODE", help="IPC namespace: private (default), shareable, host, none, container:NAME."),
        one("--uts", metavar="MODE", help="UTS namespace: host (default: its own)."),
        one("--cgroupns", metavar="MODE", help="Cgroup namespace: private (default) or host."),
        one("--cgroup-parent", metavar="PATH", help="Parent cgroup, under stdc/ (relative: under the configured one)."),
        _many("--group-add", "GROUP", "Add a supplementary group (name from the image, or number)."),
        one("--shm-size", metavar="BYTES", help="Size of /dev/shm (default 64m)."),
        one("--oom-kill-disable", is_flag=True, help="Disable the OOM killer (cgroup v1 only; give -m too)."),
        one("--oom-score-adj", type=int, metavar="N", help="The payload's OOM score adjustment (-1000 to 1000)."),
        one("--memory-reservation", metavar="BYTES", help="Memory soft limit."),
        one("--memory-swappiness", type=int, metavar="N", help="Memory swappiness, 0 to 100 (cgroup v1 only)."),
        one("--kernel-memory", metavar="BYTES", help="Ignored with a warning, as docker 28 does (no such limit now)."),
        one("--blkio-weight", type=int, metavar="N", help="Block IO relative weight, 10 to 1000 (0: off)."),
        _many("--blkio-weight-device", "DEVICE:WEIGHT", "Block IO weight of one device."),
        _many("--device-read-bps", "DEVICE:RATE", "Limit read rate (bytes per second, e.g. 1mb) from a device."),
        _many("--device-write-bps", "DEVICE:RATE", "Limit write rate (bytes per second) to a device."),
        _many("--device-read-iops", "DEVICE:RATE", "Limit read rate (IO per second) from a device."),
        _many("--device-write-iops", "DEVICE:RATE", "Limit write rate (IO per second) to a device."),
        one("--cpu-period", type=int, metavar="US", help="CPU CFS period in microseconds (not with --cpus)."),
        one("--cpu-quota", type=int, metavar="US", help="CPU CFS quota in microseconds (not with --cpus)."),
        one("--cpu-rt-period", type=int, metavar="US", help="CPU real-time period (cgroup v1)."),
        one(
            "--cpu-rt-runtime", type=int, metavar="US", help="CPU real-time runtime (cgroup v1, parent needs a budget)."
        ),
        one("--cpuset-mems", metavar="LIST", help="Memory nodes the container may use, e.g. 0-1."),
        _many(
            "--device-cgroup-rule", "'TYPE MAJ:MIN ACCESS'", "Allow devices, e.g. 'c 1:3 rwm'.", "device_cgroup_rules"
        ),
        _many("--storage-opt", "OPT", "Refused: no stdc storage driver takes per-container options."),
        one("--cpu-count", type=int, metavar="N", help="Windows only: ignored with a warning, as docker on Linux."),
        one("--cpu-percent", type=int, metavar="N", help="Windows only: ignored with a warning, as docker on Linux."),
        one("--io-maxbandwidth", metavar="BYTES", help="Windows only: refused, as docker on Linux."),
        one("--io-maxiops", type=int, metavar="N", help="Windows only: refused, as docker on Linux."),
    ]


def take_kernel_options(kw: dict) -> dict:
    """Pop these flags out of ``kw``: the RunOptions fields ``kernel``, ``limits``, ``mounts`` and
    ``volumes_from``."""
    from stdc.engine.kernel_limits import LimitFlags
    from stdc.engine.kernel_options import KernelFlags

    def value(name: str) -> Any:
        got = kw.pop(name)
        return list(got) if isinstance(got, tuple) else got

    return {
        "kernel": KernelFlags(**{name: value(name) for name in _KERNEL}),
        "limits": LimitFlags(**{name: value(name) for name in _LIMITS}),
        "mounts": value("mounts"),
        "volumes_from": value("volumes_from"),
    }
