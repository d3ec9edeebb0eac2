"""The verbs that read or change a container's cgroup: ps, pause, resume, update, events —
through the executor's hooks where it has them (``exec_processes``, ``exec_pause``,
``exec_stats``), and :func:`stdc.kit.cgroups.write_settings` for ``update`` (the spec's cgroup holds the
container's processes whatever the executor, see :mod:`stdc.kit.cgrouphooks`)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

from stdc.errors import BadInput, Conflict
from stdc.kit import cgroups
from stdc.kit.ocispec import cgroup_relative
from stdc.runtime.bundle_state import Record
from stdc.runtime.oci_lifecycle import Runtime


def _running(runtime: Runtime, container_id: str, verb: str) -> tuple[Record, dict, str]:
    record, spec = runtime.load(container_id)
    status = runtime.root.status(record, spec)
    if status == "stopped":
        raise Conflict(f"cannot {verb} a stopped container")
    return record, spec, status


def processes(runtime: Runtime, container_id: str) -> list[int]:
    """``ps``: the host pids of the container's processes."""
    record, spec, _ = _running(runtime, container_id, "list the processes of")
    hooks = runtime.hooks(record.executor)
    return sorted(hooks.exec_processes(container_id=record.id, bundle=record.bundle, spec=spec) or [])


def pause(runtime: Runtime, container_id: str, paused: bool) -> None:
    """``pause`` (``paused``) or ``resume``: the container's processes frozen or thawed."""
    record, spec, status = _running(runtime, container_id, "pause" if paused else "resume")
    if paused and status != "running":
        raise Conflict(f"container not running: {status}")
    if not paused and status != "paused":
        raise Conflict("container not paused")
    runtime.hooks(record.executor).exec_pause(container_id=record.id, bundle=record.bundle, spec=spec, paused=paused)


#: runc's update flags -> (section of linux.resources, key)
UPDATE_FLAGS = {
    "memory": ("memory", "limit"),
    "memory_reservation": ("memory", "reservation"),
    "memory_swap": ("memory", "swap"),
    "cpu_shares": ("cpu", "shares"),
    "cpu_quota": ("cpu", "quota"),
    "cpu_period": ("cpu", "period"),
    "cpuset_cpus": ("cpu", "cpus"),
    "cpuset_mems": ("cpu", "mems"),
    "pids_limit": ("pids", "limit"),
}


def update(runtime: Runtime, container_id: str, resources_file: str | None, flags: dict) -> None:
    """``update``: the ``-r`` resources JSON (``-`` for stdin) and the flags, written to the
    container's cgroups and kept in its recorded spec."""
    record, spec, _ = _running(runtime, container_id, "update")
    resources: dict = {}
    if resources_file:
        try:
            if resources_file == "-":
                text = sys.stdin.read()
            else:
                with open(resources_file) as f:
                    text = f.read()
            resources = json.loads(text or "{}")
        except (OSError, ValueError) as e:
            raise BadInput(f"resources {resources_file}: {e}") from None
    for name, value in flags.items():
        if value is not None:
            section, key = UPDATE_FLAGS[name]
            resources.setdefault(section, {})[key] = value
    cgroups.write_settings(cgroup_relative(spec, record.id), resources)
    merged = dict((spec.get("linux") or {}).get("resources") or {})
    for section, values in resources.items():
        merged[section] = {**merged.get(section, {}), **values} if isinstance(values, dict) else values
    spec.setdefault("linux", {})["resources"] = merged
    runtime.root.save(record, spec)


def stats_event(runtime: Runtime, container_id: str) -> dict:
    """One ``events --stats`` document in runc's shape (the parts stdc's cgroups read gives)."""
    record, spec, _ = _running(runtime, container_id, "read the stats of")
    usage = runtime.hooks(record.executor).exec_stats(container_id=record.id, bundle=record.bundle, spec=spec) or {}
    return {
        "type": "stats",
        "id": record.id,
        "data": {
            "cpu": {"usage": {"total": usage.get("cpu_ns", 0)}},
            "memory": {"usage": {"usage": usage.get("memory", 0), "limit": usage.get("memory_limit", 0)}},
            "pids": {"current": usage.get("pids", 0)},
        },
    }


def events(runtime: Runtime, container_id: str, interval: float) -> Iterator[dict]:
    """``events``: a stats document every ``interval`` seconds until the container stops."""
    while True:
        record, spec = runtime.load(container_id)
        if runtime.root.status(record, spec) == "stopped":
            return
        yield stats_event(runtime, container_id)
        time.sleep(interval)
