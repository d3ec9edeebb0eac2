"""The spec's ``linux.resources`` as cgroup settings, for cgroup v1 and v2 — translated once
for every executor, as crun's ``cgroup-resources.c`` does for every cgroup manager.

Pure functions: :func:`settings` says which file of which controller gets which value, and each
executor applies them its own way (native writes the files, lxc sets ``lxc.cgroup.<file>`` or
``lxc.cgroup2.<file>`` items). The conversions are runc's and crun's:

- memory: ``limit`` is ``memory.limit_in_bytes`` (v1) or ``memory.max`` (v2); ``swap`` is memory
  plus swap, ``memory.memsw.limit_in_bytes`` in v1, but v2's ``memory.swap.max`` counts swap
  alone, so there it is ``swap - limit``; ``reservation`` is the soft limit or ``memory.low``.
- cpu: ``shares`` (v1 ``cpu.shares``, 2…262144) map linearly onto ``cpu.weight`` (1…10000);
  ``quota``/``period`` are ``cpu.cfs_quota_us``/``cpu.cfs_period_us`` or together ``cpu.max``.
- cpuset ``cpus``/``mems`` and ``pids.limit`` are the same files in both versions.

A negative amount means unlimited: ``max`` in v2 and in ``pids.max``; v1's memory files take -1.
"""

from __future__ import annotations

from typing import NamedTuple

#: the ``cpu.max`` period when the spec gives a quota alone (the kernel's default, 100 ms)
DEFAULT_PERIOD = 100000


class Setting(NamedTuple):
    """One cgroup file to write: ``value`` into ``file`` of ``controller``'s hierarchy."""

    controller: str
    file: str
    value: str


def settings(resources: dict | None, version: int, *, swap_accounting: bool = True) -> list[Setting]:
    """The cgroup settings of ``resources`` (the spec's ``linux.resources``) for cgroup
    ``version`` (1 or 2), in the order to write them.

    ``swap_accounting`` says whether a v1 host's memory controller counts swap (it has
    ``memory.memsw.limit_in_bytes``, a kernel built and booted with swap accounting); without
    it a swap limit is left out, as runc does. v2 always accounts swap.
    """
    if version not in (1, 2):
        raise ValueError(f"cgroup version {version!r}: 1 or 2")
    resources = resources or {}
    memory = resources.get("memory") or {}
    cpu = resources.get("cpu") or {}
    found = _v2_memory_cpu(memory, cpu) if version == 2 else _v1_memory_cpu(memory, cpu, swap_accounting)
    if cpu.get("cpus"):
        found.append(Setting("cpuset", "cpuset.cpus", str(cpu["cpus"])))
    if cpu.get("mems"):
        found.append(Setting("cpuset", "cpuset.mems", str(cpu["mems"])))
    limit = (resources.get("pids") or {}).get("limit")
    if limit is not None:
        found.append(Setting("pids", "pids.max", str(limit) if limit > 0 else "max"))
    return found


def cpu_weight(shares: int) -> int:
    """v1 ``cpu.shares`` (2…262144) as v2 ``cpu.weight`` (1…10000): runc's and crun's linear map,
    2 -> 1, 1024 (the default) -> 39, 262144 -> 10000; shares out of range are clamped first."""
    shares = min(max(shares, 2), 262144)
    return 1 + (shares - 2) * 9999 // 262142


def swap_alone(swap: int, limit: int | None) -> int:
    """The spec's ``memory.swap`` (memory plus swap) as v2's ``memory.swap.max`` (swap alone);
    -1 (unlimited) stays so, and so does any swap when memory itself is unlimited or unset."""
    if swap < 0 or not limit or limit < 0:
        return swap
    return swap - limit


def _amount(value: int) -> str:
    return "max" if value < 0 else str(value)


def _v2_memory_cpu(memory: dict, cpu: dict) -> list[Setting]:
    found = []
    limit = memory.get("limit")
    if limit is not None:
        found.append(Setting("memory", "memory.max", _amount(limit)))
    if memory.get("swap") is not None:
        found.append(Setting("memory", "memory.swap.max", _amount(swap_alone(memory["swap"], limit))))
    if memory.get("reservation") is not None:
        found.append(Setting("memory", "memory.low", _amount(memory["reservation"])))
    if cpu.get("shares"):
        found.append(Setting("cpu", "cpu.weight", str(cpu_weight(cpu["shares"]))))
    if cpu.get("quota") or cpu.get("period"):
        quota = cpu.get("quota") or -1
        found.append(Setting("cpu", "cpu.max", f"{_amount(quota)} {cpu.get('period') or DEFAULT_PERIOD}"))
    return found


def _v1_memory_cpu(memory: dict, cpu: dict, swap_accounting: bool) -> list[Setting]:
    found = []
    if memory.get("limit") is not None:
        found.append(Setting("memory", "memory.limit_in_bytes", str(memory["limit"])))
    if memory.get("swap") is not None and swap_accounting:
        found.append(Setting("memory", "memory.memsw.limit_in_bytes", str(memory["swap"])))
    if memory.get("reservation") is not None:
        found.append(Setting("memory", "memory.soft_limit_in_bytes", str(memory["reservation"])))
    if cpu.get("shares"):
        found.append(Setting("cpu", "cpu.shares", str(cpu["shares"])))
    if cpu.get("period"):
        found.append(Setting("cpu", "cpu.cfs_period_us", str(cpu["period"])))
    if cpu.get("quota"):
        found.append(Setting("cpu", "cpu.cfs_quota_us", str(cpu["quota"])))
    return found
