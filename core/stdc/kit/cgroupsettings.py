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
- v1 only (cgroup v2 has no such knob; the engine warns and discards them there, as docker does):
  memory ``swappiness`` and ``disableOOMKiller`` (``memory.oom_control``), cpu
  ``realtimePeriod``/``realtimeRuntime`` (``cpu.rt_period_us``/``cpu.rt_runtime_us``).
- blockIO: ``weight``/``weightDevice`` are ``blkio.weight``/``blkio.weight_device`` (v1) or
  ``io.weight`` scaled from 10…1000 to 1…10000 (v2, runc's map); the throttles are
  ``blkio.throttle.*_device`` (v1) or ``io.max`` (v2), one line per device.

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
    found += _block_io(resources.get("blockIO") or {}, version)
    limit = (resources.get("pids") or {}).get("limit")
    if limit is not None:
        found.append(Setting("pids", "pids.max", str(limit) if limit > 0 else "max"))
    return found


#: the spec's blockIO throttle lists -> v1 file, v2 io.max key
_THROTTLES = {
    "throttleReadBpsDevice": ("blkio.throttle.read_bps_device", "rbps"),
    "throttleWriteBpsDevice": ("blkio.throttle.write_bps_device", "wbps"),
    "throttleReadIOPSDevice": ("blkio.throttle.read_iops_device", "riops"),
    "throttleWriteIOPSDevice": ("blkio.throttle.write_iops_device", "wiops"),
}


def io_weight(weight: int) -> int:
    """v1 ``blkio.weight`` (10…1000) as v2 ``io.weight`` (1…10000): runc's linear map."""
    weight = min(max(weight, 10), 1000)
    return 1 + (weight - 10) * 9999 // 990


def _device(entry: dict) -> str:
    return f"{int(entry['major'])}:{int(entry['minor'])}"


def _block_io(block: dict, version: int) -> list[Setting]:
    found = []
    if version == 1:
        if block.get("weight"):
            found.append(Setting("blkio", "blkio.weight", str(block["weight"])))
        for entry in block.get("weightDevice") or []:
            found.append(Setting("blkio", "blkio.weight_device", f"{_device(entry)} {entry['weight']}"))
        for key, (file, _) in _THROTTLES.items():
            for entry in block.get(key) or []:
                found.append(Setting("blkio", file, f"{_device(entry)} {entry['rate']}"))
        return found
    if block.get("weight"):
        found.append(Setting("io", "io.weight", f"default {io_weight(block['weight'])}"))
    for entry in block.get("weightDevice") or []:
        found.append(Setting("io", "io.weight", f"{_device(entry)} {io_weight(entry['weight'])}"))
    limits: dict[str, list[str]] = {}
    for key, (_, name) in _THROTTLES.items():
        for entry in block.get(key) or []:
            limits.setdefault(_device(entry), []).append(f"{name}={entry['rate']}")
    found += [Setting("io", "io.max", f"{dev} {' '.join(values)}") for dev, values in limits.items()]
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
    if memory.get("swappiness") is not None:
        found.append(Setting("memory", "memory.swappiness", str(memory["swappiness"])))
    if memory.get("disableOOMKiller"):
        found.append(Setting("memory", "memory.oom_control", "1"))
    if cpu.get("shares"):
        found.append(Setting("cpu", "cpu.shares", str(cpu["shares"])))
    if cpu.get("period"):
        found.append(Setting("cpu", "cpu.cfs_period_us", str(cpu["period"])))
    if cpu.get("quota"):
        found.append(Setting("cpu", "cpu.cfs_quota_us", str(cpu["quota"])))
    if cpu.get("realtimePeriod"):
        found.append(Setting("cpu", "cpu.rt_period_us", str(cpu["realtimePeriod"])))
    if cpu.get("realtimeRuntime") is not None:
        found.append(Setting("cpu", "cpu.rt_runtime_us", str(cpu["realtimeRuntime"])))
    return found
