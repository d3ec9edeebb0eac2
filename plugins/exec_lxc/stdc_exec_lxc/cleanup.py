"""What LXC leaves when its monitor did not finish: cgroups, the config dir, lock dirs; and
the lock dirs of containers no record owns any more (a crash between their making and the
record's removal).

liblxc removes the container's and the monitor's cgroups itself when the container stops
normally; the monitor then sits in ``<cgroup>/lxc.pivot`` until it exits. After a crash (or
after that) this removes whatever is left, under the container's own ``stdc/<id>`` only.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from stdc.kit import cgroups

from stdc_exec_lxc.translate import monitor_cgroup

#: liblxc's lock files for a container path live under this directory (plus the path)
LOCK_ROOT = "/run/lxc/lock"


def remove_cgroups(relative: str) -> None:
    """Kill what is left in the container's and its monitor's cgroups and remove them."""
    for top in (relative, monitor_cgroup(relative)):
        for hierarchy in cgroups.hierarchies():
            base = os.path.join(hierarchy, top)
            if not os.path.isdir(base):
                continue
            # deepest first: lxc.pivot, then the container's own directory
            for directory, _dirs, _files in sorted(os.walk(base), key=lambda w: -w[0].count("/")):
                cgroups.remove(directory, top)


def remove_files(lxcpath: str) -> None:
    """The container path (config, log) and the lock directories liblxc made for it."""
    shutil.rmtree(lxcpath, ignore_errors=True)
    lock_dir = LOCK_ROOT + os.path.abspath(lxcpath)
    # only this container's own levels: the ones above are shared with other containers
    for directory in (lock_dir, os.path.dirname(lock_dir)):
        with contextlib.suppress(OSError):
            shutil.rmtree(directory) if directory == lock_dir else os.rmdir(directory)


def _lock_containers(root: str) -> str:
    """Where liblxc mirrors the container paths of the stdc root ``root`` (``<root>/containers/<id>/lxc``)."""
    return LOCK_ROOT + os.path.join(os.path.abspath(root), "containers")


def orphan_locks(root: str, live_ids: set[str]) -> list[str]:
    """The lock dirs of containers of ``root`` not in ``live_ids``: ``lock <path>``."""
    top = _lock_containers(root)
    try:
        names = sorted(os.listdir(top))
    except FileNotFoundError:
        return []
    return [f"lock {os.path.join(top, name)}" for name in names if name not in live_ids]


def remove_orphan_lock(root: str, orphan: str) -> bool:
    """Remove a lock dir :func:`orphan_locks` named; False when ``orphan`` is not one."""
    what, _, path = orphan.partition(" ")
    top = _lock_containers(root)
    if what != "lock" or os.path.dirname(path) != top:
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
