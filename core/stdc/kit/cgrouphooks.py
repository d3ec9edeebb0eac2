"""``exec_stats``, ``exec_processes``, ``exec_pause``, ``exec_update``, ``exec_orphans`` and
``exec_remove_orphan``, complete for every executor that puts the container's processes in the
cgroup its spec names (``linux.cgroupsPath``, ``<cgroup_parent>/<id>``): read, frozen, updated
and, once no record owns them, removed through :mod:`stdc.kit.cgroups`, whichever way the
executor made that cgroup.

An executor takes them as they are by importing them into the module that holds its hooks::

    from stdc.kit.cgrouphooks import exec_pause, exec_processes, exec_stats, exec_update  # noqa: F401
"""

from __future__ import annotations

from stdc.kit import cgroups
from stdc.kit.ocispec import cgroup_relative
from stdc.specs import hookimpl


@hookimpl
def exec_stats(container_id: str, spec: dict) -> dict | None:
    """The container's usage (:func:`stdc.kit.cgroups.usage`), None when it has no cgroup."""
    return cgroups.usage(cgroup_relative(spec, container_id))


@hookimpl
def exec_processes(container_id: str, spec: dict) -> list[int]:
    """The host pids of the processes in the container's cgroup."""
    return cgroups.processes(cgroup_relative(spec, container_id))


@hookimpl
def exec_pause(container_id: str, spec: dict, paused: bool) -> None:
    """Freeze (``paused``) or thaw the container's cgroup; return once the kernel says done."""
    cgroups.freeze(cgroup_relative(spec, container_id), paused)


@hookimpl
def exec_update(container_id: str, spec: dict, resources: dict) -> None:
    """Write the changed limits into the container's cgroup (:func:`stdc.kit.cgroups.write_settings`)."""
    cgroups.write_settings(cgroup_relative(spec, container_id), resources)


@hookimpl
def exec_orphans(cgroup_parent: str, live_ids: list[str]) -> list[str]:
    """The cgroups under ``cgroup_parent`` of containers not in ``live_ids`` that hold no process."""
    return cgroups.orphans(cgroup_parent, set(live_ids))


@hookimpl
def exec_remove_orphan(cgroup_parent: str, orphan: str) -> None:
    """Remove an orphaned cgroup :func:`exec_orphans` named, in every hierarchy."""
    if orphan.startswith(cgroup_parent + "/"):
        cgroups.remove_everywhere(orphan)
