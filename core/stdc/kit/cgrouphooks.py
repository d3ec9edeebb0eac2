"""``exec_stats``, ``exec_processes`` and ``exec_pause`` done for every executor that puts the
container's processes in the cgroup its spec names (``linux.cgroupsPath``): read and frozen
through :mod:`stdc.kit.cgroups`, whichever way the executor made that cgroup.

An executor's hookimpl is then one call, with the hook's own arguments::

    @hookimpl
    def exec_stats(container_id: str, bundle: str, spec: dict) -> dict | None:
        return cgrouphooks.stats(container_id, spec)
"""

from __future__ import annotations

from stdc.kit import cgroups
from stdc.kit.ocispec import cgroup_relative


def stats(container_id: str, spec: dict) -> dict | None:
    """What ``exec_stats`` returns: the container's usage (:func:`stdc.kit.cgroups.usage`), or
    None when it has no cgroup."""
    return cgroups.usage(cgroup_relative(spec, container_id))


def processes(container_id: str, spec: dict) -> list[int]:
    """What ``exec_processes`` returns: the host pids of the processes in the container's cgroup."""
    return cgroups.processes(cgroup_relative(spec, container_id))


def pause(container_id: str, spec: dict, paused: bool) -> None:
    """What ``exec_pause`` does: freeze (``paused``) or thaw the container's cgroup, and return
    once the kernel says it is done."""
    cgroups.freeze(cgroup_relative(spec, container_id), paused)
