"""The AUFS mount options for a branch stack, as docker's aufs driver learnt to write them.

``br:RW=rw:RO1=ro+wh:RO2=ro+wh…`` lists the branches top first: the container's writable
branch, then the image's layers, each read-only but with its whiteouts honoured (``+wh``).
``dio`` lets aufs do direct I/O, ``xino=/dev/shm/aufs.xino`` keeps the inode translation table off
the branches, and ``dirperm1`` (where this aufs knows it) checks directory permissions on the top
branch only. mount(2) copies at most one page of option data: a stack that does not fit is
mounted with the branches that do, and the rest appended in order by ``remount`` calls of
``append:DIR=ro+wh`` options, each again within a page (moby's ``aufsMount``).

Pure string logic: :func:`branch_mounts` returns :class:`stdc.kit.mounts.Mount` descriptions that
:func:`stdc.kit.mounts.mount_all` performs in order at one target.
"""

from __future__ import annotations

import os

from stdc.errors import StdcError
from stdc.kit.mounts import Mount

XINO = "/dev/shm/aufs.xino"
#: the options data of one mount(2) call, NUL included, fits one page
LIMIT = os.sysconf("SC_PAGE_SIZE") - 1
#: aufs' default build limit on branches per mount (CONFIG_AUFS_BRANCH_MAX_127)
DEFAULT_BRANCH_MAX = 127
#: characters that would end a branch in the options string
_SEPARATORS = (":", ",", "=")


def check_path(path: str) -> str | None:
    """Why ``path`` cannot be an aufs branch, or None."""
    bad = sorted({c for c in _SEPARATORS if c in path})
    if bad:
        return f"the path {path} holds {' '.join(repr(c) for c in bad)}, which aufs branch options cannot"
    return None


def branch_max(config: str = "/sys/fs/aufs/config") -> int:
    """How many branches this kernel's aufs stacks: its ``CONFIG_AUFS_BRANCH_MAX_N`` (127 unless
    aufs was built for more; the file lists aufs' build options where sysfs is there)."""
    try:
        with open(config) as f:
            for line in f:
                name = line.strip().split("=")[0]
                if name.startswith("CONFIG_AUFS_BRANCH_MAX_") and name.rsplit("_", 1)[1].isdigit():
                    return int(name.rsplit("_", 1)[1])
    except OSError:
        pass
    return DEFAULT_BRANCH_MAX


def check_depth(layers: int, maximum: int) -> None:
    """Refuse, in one line, a chain deeper than aufs can stack (the writable branch counts too)."""
    if layers + 1 > maximum:
        raise StdcError(
            f"aufs: an image of {layers} layers needs {layers + 1} branches; this aufs stacks at most {maximum}"
        )


def branch_mounts(rw: str, ro: list[str], dirperm1: bool, limit: int = LIMIT) -> list[Mount]:
    """The mounts of the stack ``rw`` over ``ro`` (topmost first): one mount, then remount-appends."""
    for path in (rw, *ro):
        problem = check_path(path)
        if problem:
            raise StdcError(f"aufs: {problem}")
    tail = ["dio", f"xino={XINO}"] + (["dirperm1"] if dirperm1 else [])
    room = limit - len(",".join(tail)) - 1
    br = f"br:{rw}=rw"
    if len(br) > room:
        raise StdcError(f"aufs: the branch {rw} is too long for one page of mount options")
    index = 0
    while index < len(ro) and len(br) + len(f":{ro[index]}=ro+wh") <= room:
        br += f":{ro[index]}=ro+wh"
        index += 1
    mounts = [Mount("aufs", "none", [br, *tail])]
    while index < len(ro):
        appends: list[str] = []
        used = -1  # the data is the appends joined by ","; "remount" is a flag, not data
        while index < len(ro):
            option = f"append:{ro[index]}=ro+wh"
            if used + 1 + len(option) > limit:
                break
            appends.append(option)
            used += 1 + len(option)
            index += 1
        if not appends:
            raise StdcError(f"aufs: the branch {ro[index]} is too long for one page of mount options")
        mounts.append(Mount("aufs", "none", ["remount", *appends]))
    return mounts
