"""The cgroup flags of ``run``/``create`` beyond ``-m``/``--cpus`` (issue 17 §2), checked the way
docker checks them and turned into the OCI spec's ``linux.resources``:

``--memory-reservation``, ``--memory-swappiness``, ``--oom-kill-disable``, ``--kernel-memory``,
``--blkio-weight``, ``--blkio-weight-device``, ``--device-read-bps``/``--device-write-bps``/
``--device-read-iops``/``--device-write-iops``, ``--cpu-period``, ``--cpu-quota``,
``--cpu-rt-period``/``--cpu-rt-runtime``, ``--cpuset-mems`` and ``--device-cgroup-rule``.

Pure but for reading the host (device numbers, memory nodes, which cgroup files exist); nothing
is made. What the host cannot do is discarded with a warning, as docker's daemon does.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field

from stdc.engine.resources import MIN_MEMORY, parse_cpuset, parse_size
from stdc.errors import BadInput
from stdc.kit import cgroups, devices


@dataclass
class LimitFlags:
    """The flags as given (sizes as strings, devices as ``PATH:VALUE``)."""

    memory_reservation: str | None = None
    memory_swappiness: int | None = None
    oom_kill_disable: bool = False
    kernel_memory: str | None = None
    blkio_weight: int | None = None
    blkio_weight_device: list[str] = field(default_factory=list)
    device_read_bps: list[str] = field(default_factory=list)
    device_write_bps: list[str] = field(default_factory=list)
    device_read_iops: list[str] = field(default_factory=list)
    device_write_iops: list[str] = field(default_factory=list)
    cpu_period: int | None = None
    cpu_quota: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpuset_mems: str | None = None
    device_cgroup_rules: list[str] = field(default_factory=list)


#: flag -> the spec's blockIO list it fills, and whether its value is a size (else a count)
_THROTTLES = {
    "device_read_bps": ("throttleReadBpsDevice", True),
    "device_write_bps": ("throttleWriteBpsDevice", True),
    "device_read_iops": ("throttleReadIOPSDevice", False),
    "device_write_iops": ("throttleWriteIOPSDevice", False),
}
_RULE = re.compile(r"^([abc]) (\*|\d+):(\*|\d+) ([rwm]{1,3})$")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def block_device(path: str, flag: str) -> tuple[int, int]:
    """The major and minor number of the block device at ``path``."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise BadInput(f"{flag}: {path}: {e.strerror}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise BadInput(f"{flag}: {path} is not a block device")
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def _device_value(value: str, flag: str) -> tuple[str, str]:
    path, sep, amount = value.rpartition(":")
    if not sep or not path.startswith("/dev/") or not amount:
        raise BadInput(f"invalid value {value!r} for {flag}: expected /dev/DEVICE:VALUE")
    return path, amount


def device_cgroup_rule(value: str) -> dict:
    """``--device-cgroup-rule 'c 1:3 rwm'`` (docker's syntax; ``*`` for any number) as a spec rule."""
    match = _RULE.match(value.strip())
    if not match:
        raise BadInput(f"invalid device cgroup rule {value!r}: expected 'TYPE MAJOR:MINOR ACCESS', e.g. 'c 1:3 rwm'")
    kind, major, minor, access = match.groups()
    rule: dict = {"allow": True, "type": kind, "access": "".join(c for c in "rwm" if c in access)}
    if major != "*":
        rule["major"] = int(major)
    if minor != "*":
        rule["minor"] = int(minor)
    return rule


def _mems(value: str) -> str:
    wanted = parse_cpuset(value, "--cpuset-mems")
    try:
        with open("/sys/devices/system/node/online") as f:
            available = parse_cpuset(f.read().strip(), "online memory nodes")
    except OSError:
        available = {0}
    if not wanted <= available:
        raise BadInput(
            f"Requested memory nodes are not available - requested {value}, "
            f"available: {','.join(map(str, sorted(available)))}"
        )
    return value.strip()


def _controller_has(controller: str, *files: str) -> bool:
    """Whether the host's cgroups offer ``controller`` (v2) or one of its ``files`` (v1, at the
    controller's root)."""
    if cgroups.is_unified():
        with open(os.path.join(cgroups.ROOT, "cgroup.controllers")) as f:
            return controller in f.read().split()
    base = os.path.join(cgroups.ROOT, controller)
    return any(os.path.exists(os.path.join(base, name)) for name in files)


@dataclass
class LimitPlan:
    """The flags checked: the whole ``linux.resources``, what was discarded, and inspect's rows."""

    resources: dict
    warnings: list[str]
    host_config: dict


def build(flags: LimitFlags, resources: dict) -> LimitPlan:
    """``resources`` (what :func:`stdc.engine.resources.build` made of ``-m``, ``--cpus``, …) with
    these flags added, and the warnings of what the host cannot do (discarded, as docker does)."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in resources.items()}
    warnings: list[str] = []
    _memory(flags, out, warnings)
    _cpu(flags, out, warnings)
    _block_io(flags, out, warnings)
    if flags.device_cgroup_rules:
        rules = [device_cgroup_rule(r) for r in flags.device_cgroup_rules]
        out["devices"] = [*(out.get("devices") or devices.default_rules()), *rules]
    return LimitPlan(out, warnings, _host_config(flags, out))


def _host_config(flags: LimitFlags, resources: dict) -> dict:
    """Docker's HostConfig names of these flags, with the values in force."""
    memory, cpu, block = (resources.get(k) or {} for k in ("memory", "cpu", "blockIO"))
    rows = {
        "BlkioWeightDevice": ("blkio_weight_device", "Weight"),
        "BlkioDeviceReadBps": ("device_read_bps", "Rate"),
        "BlkioDeviceWriteBps": ("device_write_bps", "Rate"),
        "BlkioDeviceReadIOps": ("device_read_iops", "Rate"),
        "BlkioDeviceWriteIOps": ("device_write_iops", "Rate"),
    }
    found: dict = {
        "MemoryReservation": memory.get("reservation", 0),
        "MemorySwappiness": memory.get("swappiness"),
        "OomKillDisable": bool(memory.get("disableOOMKiller")),
        "KernelMemory": 0,
        "BlkioWeight": block.get("weight", 0),
        "CpuPeriod": flags.cpu_period or 0,
        "CpuQuota": flags.cpu_quota or 0,
        "CpuRealtimePeriod": cpu.get("realtimePeriod", 0),
        "CpuRealtimeRuntime": cpu.get("realtimeRuntime", 0),
        "CpusetMems": cpu.get("mems", ""),
        "DeviceCgroupRules": list(flags.device_cgroup_rules),
    }
    for key, (name, value_key) in rows.items():
        found[key] = []
        for value in getattr(flags, name):
            path, amount = _device_value(value, _flag(name))
            found[key].append({"Path": path, value_key: int(amount) if amount.isdigit() else parse_size(amount, "")})
    return found


def _memory(flags: LimitFlags, out: dict, warnings: list[str]) -> None:
    memory = out.setdefault("memory", {})
    if flags.memory_reservation is not None:
        reservation = parse_size(flags.memory_reservation, "--memory-reservation")
        if reservation < MIN_MEMORY:
            raise BadInput("Minimum memory reservation allowed is 6MB")
        if memory.get("limit") and memory["limit"] < reservation:
            raise BadInput("Minimum memory limit can not be less than memory reservation limit, see usage")
        memory["reservation"] = reservation
    if flags.memory_swappiness is not None and flags.memory_swappiness != -1:
        if not 0 <= flags.memory_swappiness <= 100:
            raise BadInput(f"Invalid value: {flags.memory_swappiness}, valid memory swappiness range is 0-100")
        if cgroups.is_unified() or not _controller_has("memory", "memory.swappiness"):
            warnings.append("Your kernel does not support memory swappiness capabilities. Memory swappiness discarded.")
        else:
            memory["swappiness"] = flags.memory_swappiness
    if flags.oom_kill_disable:
        if cgroups.is_unified() or not _controller_has("memory", "memory.oom_control"):
            warnings.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        else:
            memory["disableOOMKiller"] = True
            if not memory.get("limit"):
                warnings.append(
                    "Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous."
                )
    if flags.kernel_memory is not None:
        parse_size(flags.kernel_memory, "--kernel-memory")  # a bad value is still a usage error
        # docker 28 ignores it too: cgroup v2 has no such limit, and Linux 6.x dropped v1's
        warnings.append("Kernel memory limits are deprecated (Linux 5.4) and not supported; --kernel-memory discarded.")
    if not memory:
        out.pop("memory")


def _cpu(flags: LimitFlags, out: dict, warnings: list[str]) -> None:
    cpu = out.setdefault("cpu", {})
    from_cpus = "quota" in cpu and "period" in cpu
    if flags.cpu_period is not None and flags.cpu_period != 0:
        if from_cpus:
            raise BadInput("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        if not 1000 <= flags.cpu_period <= 1_000_000:
            raise BadInput("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        cpu["period"] = flags.cpu_period
    if flags.cpu_quota is not None and flags.cpu_quota != 0:
        if from_cpus:
            raise BadInput("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
        if 0 < flags.cpu_quota < 1000 or flags.cpu_quota < -1:
            raise BadInput("CPU cfs quota can not be less than 1ms (i.e. 1000)")
        cpu["quota"] = flags.cpu_quota
    if flags.cpu_rt_period or flags.cpu_rt_runtime:
        if cgroups.is_unified() or not _controller_has("cpu", "cpu.rt_runtime_us"):
            raise BadInput(
                "Your kernel does not support cgroup cpu real-time runtime (--cpu-rt-period/--cpu-rt-runtime)"
            )
        period = flags.cpu_rt_period or 1_000_000
        if flags.cpu_rt_runtime is not None and flags.cpu_rt_runtime > period:
            raise BadInput(f"cpu-rt-runtime ({flags.cpu_rt_runtime}) must not exceed cpu-rt-period ({period})")
        if flags.cpu_rt_period:
            cpu["realtimePeriod"] = flags.cpu_rt_period
        if flags.cpu_rt_runtime is not None:
            cpu["realtimeRuntime"] = flags.cpu_rt_runtime
    if flags.cpuset_mems is not None:
        cpu["mems"] = _mems(flags.cpuset_mems)
    if not cpu:
        out.pop("cpu")


def _block_io(flags: LimitFlags, out: dict, warnings: list[str]) -> None:
    block: dict = {}
    weighs = _controller_has("io" if cgroups.is_unified() else "blkio", "blkio.weight", "blkio.bfq.weight")
    if flags.blkio_weight:
        if not 10 <= flags.blkio_weight <= 1000:
            raise BadInput(f"Range of blkio weight is from 10 to 1000, not {flags.blkio_weight}")
        if weighs:
            block["weight"] = flags.blkio_weight
        else:
            warnings.append(
                "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
            )
    weights = []
    for value in flags.blkio_weight_device:
        path, amount = _device_value(value, "--blkio-weight-device")
        if not amount.isdigit() or not 10 <= int(amount) <= 1000:
            raise BadInput(f"invalid weight for device: {value} (10 to 1000)")
        major, minor = block_device(path, "--blkio-weight-device")
        weights.append({"major": major, "minor": minor, "weight": int(amount)})
    if weights and weighs:
        block["weightDevice"] = weights
    elif weights:
        warnings.append(
            "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. "
            "Weight-device discarded."
        )
    for name, (key, is_size) in _THROTTLES.items():
        rates = []
        for value in getattr(flags, name):
            path, amount = _device_value(value, _flag(name))
            if is_size:
                rate = parse_size(amount, _flag(name))
            elif amount.isdigit():
                rate = int(amount)
            else:
                raise BadInput(f"invalid value {value!r} for {_flag(name)}: the rate must be a number of IOs")
            major, minor = block_device(path, _flag(name))
            rates.append({"major": major, "minor": minor, "rate": rate})
        if rates:
            block[key] = rates
    if block:
        out["blockIO"] = block
