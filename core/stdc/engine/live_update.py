"""``update`` (docker's ``update``): new limits and restart policy for a container, running or not.

The flags are checked by the parsers of ``run`` (:func:`stdc.engine.resources.build`,
:func:`stdc.engine.kernel_limits.build`) and merged over what the container's record holds: its
``resources`` (the spec's ``linux.resources``), the ``host_config`` rows inspect shows under
Docker's names, and its ``restart_policy``. The bundle's ``config.json`` is rewritten, so the next
start uses them, and a running container gets them at once through the executor's optional
``exec_update`` hook. Nothing is recorded unless the kernel took the new limits.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stdc.engine import kernel_limits, resources
from stdc.engine.kernel_limits import LimitFlags
from stdc.errors import BadInput, Conflict

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container


@dataclass
class UpdateOptions:
    """docker update's flags as given (sizes as strings); None: left as it is."""

    memory: str | None = None
    memory_swap: str | None = None
    cpus: str | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    restart: str | None = None
    limits: LimitFlags = field(default_factory=LimitFlags)


#: LimitFlags field -> the HostConfig row (kernel_limits' host_config) it changes
_HOST_CONFIG_ROWS = {
    "memory_reservation": "MemoryReservation",
    "blkio_weight": "BlkioWeight",
    "cpu_period": "CpuPeriod",
    "cpu_quota": "CpuQuota",
    "cpu_rt_period": "CpuRealtimePeriod",
    "cpu_rt_runtime": "CpuRealtimeRuntime",
    "cpuset_mems": "CpusetMems",
}


def _memory_swap(changes: UpdateOptions, current: dict) -> dict:
    """The ``linux.resources`` of ``-m``/``--memory-swap`` and the other flags of ``run``'s parser;
    a swap limit alone applies to the memory limit in force, a memory limit alone keeps the swap
    limit in force (docker refuses one above it)."""
    memory = changes.memory
    limit, swap = current.get("limit"), current.get("swap")
    if memory is None and changes.memory_swap is not None and limit:
        memory = str(limit)
    fresh = resources.build(
        memory=memory,
        memory_swap=changes.memory_swap,
        cpus=changes.cpus,
        cpu_shares=changes.cpu_shares,
        cpuset_cpus=changes.cpuset_cpus,
        pids_limit=changes.pids_limit,
    )
    if changes.memory is not None and changes.memory_swap is None and swap is not None:
        if swap > 0 and fresh["memory"]["limit"] > swap:
            raise BadInput(
                "Memory limit should be smaller than already set memoryswap limit, "
                "update the memoryswap at the same time"
            )
        del fresh["memory"]["swap"]
    return fresh


def _merged(current: dict, changed: dict) -> dict:
    """``current`` (a ``linux.resources``) with each section of ``changed`` merged over it."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in current.items()}
    for section, values in changed.items():
        merged[section] = {**(merged.get(section) or {}), **values} if isinstance(values, dict) else values
    return merged


def _host_config(c: Container, changes: UpdateOptions, plan: kernel_limits.LimitPlan) -> dict:
    """The record's HostConfig rows with those the flags changed."""
    rows = dict(c.config.get("host_config") or {})
    for name, key in _HOST_CONFIG_ROWS.items():
        if getattr(changes.limits, name) is not None:
            rows[key] = plan.host_config[key]
    if changes.cpus is not None:  # NanoCpus replaces a CFS period and quota given before
        rows["CpuPeriod"] = rows["CpuQuota"] = 0
    return rows


def _refuse_cpu_conflicts(c: Container, changes: UpdateOptions) -> None:
    """docker's rule: a container limited by ``--cpus`` (NanoCpus) takes no CFS quota, and one
    with a CFS quota no ``--cpus``."""
    cpu = (c.config.get("resources") or {}).get("cpu") or {}
    quota = (c.config.get("host_config") or {}).get("CpuQuota") or 0
    nano = bool(cpu.get("quota") and cpu.get("period")) and not quota
    if changes.cpus is not None and quota > 0:
        raise BadInput("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if changes.limits.cpu_quota and changes.limits.cpu_quota > 0 and nano:
        raise BadInput("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")


def _apply_now(engine: Engine, c: Container, spec: dict, changed: dict) -> None:
    """Give a running container its new limits through the executor's ``exec_update``."""
    executor = engine.backend("exec", c.backends["exec"])
    if not executor.hook.exec_update.get_hookimpls():
        raise Conflict(
            f"cannot update running container {c.name}: executor {c.backends['exec']} cannot change "
            "the limits of a running container (stop it first)"
        )
    executor.hook.exec_update(container_id=c.id, bundle=engine.bundle(c), spec=spec, resources=changed)


def _save_spec(engine: Engine, c: Container, spec: dict) -> None:
    path = os.path.join(engine.bundle(c), "config.json")
    with open(path + ".tmp", "w") as f:
        json.dump(spec, f, indent=1)
    os.replace(path + ".tmp", path)


def update(engine: Engine, ref: str, changes: UpdateOptions) -> list[str]:
    """Change the limits and restart policy of the container ``ref``, running or not; return the
    warnings of what the host cannot do (discarded, as docker does)."""
    if changes == UpdateOptions():
        raise BadInput("you must provide one or more flags when using this command")
    c = engine.container(ref)
    _refuse_cpu_conflicts(c, changes)
    current = c.config.get("resources") or {}
    plan = kernel_limits.build(changes.limits, _memory_swap(changes, current.get("memory") or {}))
    merged = _merged(current, plan.resources)
    memory = merged.get("memory") or {}
    if memory.get("reservation") and memory.get("limit") and memory["limit"] < memory["reservation"]:
        raise BadInput("Minimum memory limit can not be less than memory reservation limit, see usage")
    config = {**c.config, "resources": merged, "host_config": _host_config(c, changes, plan)}
    if changes.restart is not None:
        config["restart_policy"] = resources.parse_restart(changes.restart, bool(c.config.get("auto_remove")))
    spec, _ = engine.run_files(c)
    spec.setdefault("linux", {})["resources"] = {**(spec.get("linux") or {}).get("resources", {}), **merged}
    if c.running and plan.resources:
        _apply_now(engine, c, spec, {section: merged[section] for section in plan.resources})
    _save_spec(engine, c, spec)
    engine.state.update(c.id, config=config)
    engine.record_container(c, "update")
    return plan.warnings
