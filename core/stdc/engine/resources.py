"""Resource flags (``-m``, ``--memory-swap``, ``--cpus``, ``--cpu-shares``, ``--cpuset-cpus``,
``--pids-limit``) and ``--restart`` checked the way docker checks them, and turned into the OCI
spec's ``linux.resources`` (runtime-spec config-linux.md) and a restart policy.

Everything here is pure and runs before anything is created: bad input changes nothing.
"""

from __future__ import annotations

import os
import re

from stdc.errors import BadInput

#: docker's floor for -m (daemon/daemon_unix.go linuxMinMemory)
MIN_MEMORY = 6 * 1024 * 1024
#: the CFS period docker uses for --cpus
CPU_PERIOD = 100_000

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$|^(\d+(?:\.\d+)?)\s*(b)$", re.IGNORECASE)


def parse_size(value: str, flag: str) -> int:
    """``64m``, ``1g``, ``512k``, ``1048576``, ``1.5g`` as bytes (docker's RAMInBytes: binary units)."""
    match = _SIZE.match(value.strip())
    if not match:
        raise BadInput(f"invalid value {value!r} for {flag}: a size like 64m, 1g or 512k")
    number, unit = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), "b")
    return int(float(number) * _UNITS[unit.lower()])


def online_cpus() -> set[int]:
    """The host's online cpus (``/sys/devices/system/cpu/online``)."""
    try:
        with open("/sys/devices/system/cpu/online") as f:
            return parse_cpuset(f.read().strip(), "online cpus")
    except OSError:
        return set(range(os.cpu_count() or 1))


def parse_cpuset(value: str, flag: str = "--cpuset-cpus") -> set[int]:
    """``0-2,4`` as a set of cpu numbers; the kernel's list syntax, checked."""
    cpus: set[int] = set()
    for part in value.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise BadInput(f"invalid value {value!r} for {flag}: a list like 0-2,4")
        low, high = int(first), int(last) if dash else int(first)
        if high < low:
            raise BadInput(f"invalid value {value!r} for {flag}: range {part} is backwards")
        cpus.update(range(low, high + 1))
    return cpus


def _ranges(cpus: set[int]) -> str:
    """A set of cpus in the kernel's list syntax."""
    out, ordered = [], sorted(cpus)
    start = prev = ordered[0]
    for cpu in [*ordered[1:], None]:
        if cpu is not None and cpu == prev + 1:
            prev = cpu
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if cpu is not None:
            start = prev = cpu
    return ",".join(out)


def build(
    *,
    memory: str | None = None,
    memory_swap: str | None = None,
    cpus: str | None = None,
    cpu_shares: int | None = None,
    cpuset_cpus: str | None = None,
    pids_limit: int | None = None,
) -> dict:
    """The ``linux.resources`` of the flags given, checked; ``{}`` when none was given."""
    resources: dict = {}
    mem: dict = {}
    if memory is not None:
        limit = parse_size(memory, "--memory")
        if limit < MIN_MEMORY:
            raise BadInput("Minimum memory limit allowed is 6MB")
        mem["limit"] = limit
    if memory_swap is not None:
        if "limit" not in mem:
            raise BadInput("You should always set the Memory limit when using Memoryswap limit, see usage")
        if memory_swap.strip() == "-1":
            mem["swap"] = -1
        else:
            swap = parse_size(memory_swap, "--memory-swap")
            if swap < mem["limit"]:
                raise BadInput("Minimum memoryswap limit should be larger than memory limit, see usage")
            mem["swap"] = swap
    elif "limit" in mem:
        mem["swap"] = 2 * mem["limit"]  # docker: as much swap as memory unless told
    if mem:
        resources["memory"] = mem
    cpu: dict = {}
    ncpu = len(online_cpus())
    if cpus is not None:
        try:
            amount = float(cpus)
        except ValueError:
            raise BadInput(f"invalid value {cpus!r} for --cpus: a number like 0.5 or 1.5") from None
        if not 0.01 <= amount <= ncpu:
            raise BadInput(f"Range of CPUs is from 0.01 to {ncpu:.2f}, as there are only {ncpu} CPUs available")
        cpu.update(period=CPU_PERIOD, quota=int(round(amount * CPU_PERIOD)))
    if cpu_shares is not None:
        if cpu_shares < 0:
            raise BadInput(f"invalid value {cpu_shares} for --cpu-shares: must be 0 or more")
        if cpu_shares:
            cpu["shares"] = max(2, min(262144, cpu_shares))  # the kernel's own bounds
    if cpuset_cpus is not None:
        wanted = parse_cpuset(cpuset_cpus)
        available = online_cpus()
        if not wanted <= available:
            raise BadInput(
                f"Requested CPUs are not available - requested {cpuset_cpus}, available: {_ranges(available)}"
            )
        cpu["cpus"] = _ranges(wanted)
    if cpu:
        resources["cpu"] = cpu
    if pids_limit is not None:
        resources["pids"] = {"limit": pids_limit if pids_limit > 0 else -1}
    return resources


def parse_restart(value: str | None, auto_remove: bool) -> dict:
    """``--restart no|on-failure[:N]|always`` as docker's RestartPolicy ``{"Name", "MaximumRetryCount"}``."""
    name, _, count = (value or "no").partition(":")
    if name not in ("no", "on-failure", "always"):
        raise BadInput(f"invalid restart policy {value!r}: no, on-failure[:N] or always")
    if count and (name != "on-failure" or not count.isdigit()):
        raise BadInput(f"invalid restart policy {value!r}: only on-failure takes a count (on-failure:3)")
    if name != "no" and auto_remove:
        raise BadInput("Conflicting options: --restart and --rm")
    return {"Name": name, "MaximumRetryCount": int(count or 0)}
