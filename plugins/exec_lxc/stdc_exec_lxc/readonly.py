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


def stage(plan: object) -> None:
    """Replace the source of each ``rro`` entry of ``plan.mount_entries`` with its read-only
    staging point (called in the monitor's own mount namespace, before LXC mounts)."""
    entries = plan.mount_entries  # type: ignore[attr-defined]
    staging = os.path.join(plan.lxcpath, plan.name, "rro")  # type: ignore[attr-defined]
    for index in plan.recursive_readonly:  # type: ignore[attr-defined]
        source, destination, rest, as_file = entries[index]
        point = os.path.join(staging, str(index))
        os.makedirs(staging, mode=0o700, exist_ok=True)
        if as_file:
            os.close(os.open(point, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        else:
            os.makedirs(point, mode=0o700, exist_ok=True)
        try:
            syscalls.mount(source, point, None, syscalls.MS_BIND | syscalls.MS_REC)
            fd = os.open(point, os.O_PATH | os.O_CLOEXEC)
            try:
                syscalls.make_readonly_recursively(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise StdcError(f"read-only bind of {source} on {destination}: {e.strerror}") from None
        entries[index] = (point, destination, rest, as_file)
