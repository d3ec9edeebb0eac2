"""Recursive read-only binds (the spec's ``rro`` option, docker's default for a ``:ro`` bind)
for LXC, which has no such option: in the LXC monitor's private mount namespace, each such source
is first bound recursively on a staging point of the container's config dir and made read-only
all the way down (``mount_setattr``, Linux 5.12+); LXC's ``rbind`` of the staging point then
copies every submount with its read-only flag. The staging mounts go with the monitor's namespace.
"""

from __future__ import annotations

import os

from stdc.errors import StdcError
from stdc.kit import syscalls


def _staging_point(source: str, staging: str, index: int, as_file: bool) -> str:
    """``source`` bound recursively on a new point below ``staging``."""
    os.makedirs(staging, mode=0o700, exist_ok=True)
    point = os.path.join(staging, str(index))
    if as_file:
        os.close(os.open(point, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    else:
        os.makedirs(point, mode=0o700, exist_ok=True)
    syscalls.mount(source, point, None, syscalls.MS_BIND | syscalls.MS_REC)
    return point


def stage(plan: object) -> None:
    """Replace the source of each ``rro`` entry of ``plan.mount_entries`` with its read-only
    staging point (called in the monitor's own mount namespace, before LXC mounts)."""
    entries = plan.mount_entries  # type: ignore[attr-defined]
    config_dir = os.path.join(plan.lxcpath, plan.name)  # type: ignore[attr-defined]
    # under a user namespace stdc_exec_lxc.userns.reachable_sources has bound the sources on
    # places of its own (which LXC can reach from inside it): those binds are made read-only
    reachable = os.path.join(config_dir, "binds") + "/"
    for index in plan.recursive_readonly:  # type: ignore[attr-defined]
        source, destination, rest, as_file = entries[index]
        try:
            if source.startswith(reachable):
                point = source
            else:
                point = _staging_point(source, os.path.join(config_dir, "rro"), index, as_file)
            fd = os.open(point, os.O_PATH | os.O_CLOEXEC)
            try:
                syscalls.make_readonly_recursively(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise StdcError(f"read-only bind of {source} on {destination}: {e.strerror}") from None
        entries[index] = (point, destination, rest, as_file)
