"""Cgroups: a container's directories under each controller (v1) or in the unified tree (v2),
its ``linux.resources`` limits written there (as :mod:`stdc.kit.cgroupsettings` translates
them), and their removal.

Only directories under a top-level ``stdc`` directory are ever created or removed; the
``cgroupsPath`` of the spec must name one (``/stdc/<id>``).
"""

from __future__ import annotations

import os

from stdc.errors import StdcError
from stdc.kit import cgroups, cgroupsettings

from stdc_exec_native import devices

ROOT = cgroups.ROOT
#: v2 controllers enabled for the stdc subtree, when the host has them.
V2_CONTROLLERS = ("cpu", "cpuset", "io", "memory", "pids")


def v1_hierarchies() -> list[str]:
    """Every v1 hierarchy mounted under /sys/fs/cgroup, each once (by its real path: cpu and
    cpuacct are often one), named ones (``name=systemd``) included; not a hybrid host's v2 tree.

    A container gets a cgroup in each, as with runc and LXC: it sees them all at its own
    /sys/fs/cgroup, and a JVM finds the cpuset hierarchy it insists on.
    """
    found: list[str] = []
    for entry in sorted(os.listdir(ROOT)):
        real = os.path.realpath(os.path.join(ROOT, entry))
        if real not in found and os.path.exists(os.path.join(real, "tasks")):
            found.append(real)
    return found


def directories(relative: str) -> list[str]:
    """The container's cgroup directories: one per v1 hierarchy, or the v2 one."""
    if cgroups.is_unified():
        return [os.path.join(ROOT, relative)]
    return [os.path.join(hierarchy, relative) for hierarchy in v1_hierarchies()]


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    except OSError as e:
        raise StdcError(f"cgroup {path}: cannot write {value!r}: {e.strerror}") from None
    finally:
        os.close(fd)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _make_v1(directory: str) -> None:
    """Create a v1 directory; in cpuset, give each new level its parent's cpus and mems,
    without which no process may join it."""
    mount = directory[: directory.index("/stdc/")]
    cpuset = os.path.exists(os.path.join(mount, "cpuset.cpus"))
    path = mount
    for part in directory[len(mount) + 1 :].split("/"):
        parent, path = path, os.path.join(path, part)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            continue
        if cpuset:
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not _read(os.path.join(path, name)):
                    _write(os.path.join(path, name), _read(os.path.join(parent, name)))


def _make_v2(directory: str) -> None:
    """Create a v2 directory with the controllers it needs enabled down its ancestry."""
    wanted = set(V2_CONTROLLERS) & set(_read(os.path.join(ROOT, "cgroup.controllers")).split())
    path = ROOT
    for part in directory[len(ROOT) + 1 :].split("/"):
        enabled = set(_read(os.path.join(path, "cgroup.subtree_control")).split())
        missing = wanted - enabled
        if missing:
            _write(os.path.join(path, "cgroup.subtree_control"), " ".join(f"+{c}" for c in sorted(missing)))
        path = os.path.join(path, part)
        os.makedirs(path, 0o755, exist_ok=True)


def create(relative: str, resources: dict | None) -> list[str]:
    """Create the container's cgroups and write its limits; return the directories.

    On failure nothing created is left behind.
    """
    resources = resources or {}
    unified = cgroups.is_unified()
    settings = cgroupsettings.settings(resources, cgroups.version())
    dirs = directories(relative)
    try:
        for directory in dirs:
            if unified:
                _make_v2(directory)
            else:
                _make_v1(directory)
            for setting in settings:
                path = os.path.join(directory, setting.file)
                # v1: each hierarchy takes the files of its own controllers (and memsw only
                # with swap accounting); v2's one directory takes them all
                if unified or os.path.exists(path):
                    _write(path, setting.value)
        devices.restrict(dirs, resources, unified, _write)
    except BaseException as e:
        remove(relative)
        if isinstance(e, OSError):
            raise StdcError(f"cgroup: {e}") from None
        raise
    return dirs


def join(dirs: list[str]) -> None:
    """Move the calling process, which must have a single thread, into ``dirs``.

    Moving a whole process (cgroup.procs) write-locks a global rwsem, which waits for an RCU
    grace period: about 10 ms here. Moving the calling thread itself (``0`` into the v1
    ``tasks`` file) skips that lock, and a single thread is the whole process. v2 has no
    such file outside threaded subtrees, so there the process pays the wait.
    """
    for directory in dirs:
        tasks = os.path.join(directory, "tasks")
        _write(tasks if os.path.exists(tasks) else os.path.join(directory, "cgroup.procs"), "0")


def remove(relative: str) -> None:
    """Kill what is left in the container's cgroups and remove their directories. Idempotent."""
    for directory in directories(relative):
        if os.path.isdir(directory):
            cgroups.remove(directory, relative)
