"""Device control of the native executor: ``linux.resources.devices`` (see :mod:`stdc.kit.devices`)
written to the container's cgroup before its init joins it.

cgroup v1: the devices controller (``devices.deny`` / ``devices.allow``, in the spec's order).
cgroup v2 has no such files: there the list becomes an eBPF program of type
BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup (:mod:`stdc_exec_native.devfilter`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from stdc.errors import StdcError
from stdc.kit import devices

V1_MOUNT = "/sys/fs/cgroup/devices"


def restrict(dirs: list[str], resources: dict | None, unified: bool, write: Callable[[str, str], None]) -> None:
    """Apply the device rules to the container's cgroup directories (just created, empty);
    ``write(path, value)`` writes one cgroup file."""
    rules = devices.cgroup_rules(resources)
    if unified:
        if devices.allows_all(rules):
            return
        from stdc_exec_native import devfilter

        devfilter.attach(dirs[0], rules)
        return
    mount = os.path.realpath(V1_MOUNT)
    directory = next((d for d in dirs if d.startswith(mount + "/")), None)
    if directory is None:
        if devices.allows_all(rules):
            return
        raise StdcError("cgroup v1 without a devices controller: device access cannot be restricted")
    for rule in rules:
        for name, line in rule.v1_lines():
            write(os.path.join(directory, name), line)
