"""A container's cgroups, the published API for executors, which make the cgroups their own
way but end them, read them and freeze them alike: emptying and removing them; their usage,
processes and OOM kills (``stdc stats``, ``top``, ``inspect``); pausing (the freezer); new
limits written into them (``update``); the cgroups a crash orphaned (named after a container no
record owns any more).

A process left in a container's cgroup is killed through a pidfd, and only while it is still a
member of that cgroup, so a pid reused since ``cgroup.procs`` was read is never hit.
"""

from __future__ import annotations

import errno
import os
import signal
import time

from stdc.errors import StdcError
from stdc.kit import cgroupsettings

KILL_TIMEOUT = 5.0
ROOT = "/sys/fs/cgroup"


def pids(directory: str) -> list[int]:
    """The processes in a cgroup directory; [] when it is gone."""
    try:
        with open(os.path.join(directory, "cgroup.procs")) as f:
            return [int(line) for line in f.read().split()]
    except FileNotFoundError:
        return []


def _member(pid: int, relative: str) -> bool:
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            path = line.rstrip("\n").split(":", 2)[2]
            if path == "/" + relative or path.startswith("/" + relative + "/"):
                return True
    return False


def kill_all(directory: str, relative: str) -> None:
    """SIGKILL every process in ``directory`` (a cgroup of the container ``relative``, e.g.
    ``stdc/<id>``) and wait until it is empty, at most :data:`KILL_TIMEOUT` seconds."""
    deadline = time.monotonic() + KILL_TIMEOUT
    kill_file = os.path.join(directory, "cgroup.kill")  # cgroup v2 kills them all at once
    if pids(directory):
        thaw_if_frozen(relative)  # a frozen (paused) task takes its SIGKILL only once thawed
    while left := pids(directory):
        if os.path.exists(kill_file):
            with open(kill_file, "w") as f:
                f.write("1")
        else:
            for pid in left:
                try:
                    pidfd = os.pidfd_open(pid)
                except ProcessLookupError:
                    continue
                try:
                    if _member(pid, relative):
                        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except (FileNotFoundError, ProcessLookupError):
                    pass
                finally:
                    os.close(pidfd)
        if time.monotonic() > deadline:
            raise StdcError(f"cgroup {directory}: processes left after SIGKILL: {left}")
        time.sleep(0.001)


def thaw_if_frozen(relative: str) -> None:
    """Thaw the container's cgroup if it is frozen (v1 freezer or v2 cgroup.freeze)."""
    for path, thawed in (
        (os.path.join(ROOT, "freezer", relative, "freezer.state"), "THAWED"),
        (os.path.join(ROOT, relative, "cgroup.freeze"), "0"),
    ):
        if (_read(path) or thawed) != thawed:
            with open(path, "w") as f:
                f.write(thawed)


def remove(directory: str, relative: str) -> None:
    """Empty the cgroup ``directory`` and remove it; gone already is fine (idempotent)."""
    kill_all(directory, relative)
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as e:  # EBUSY while the last exiting task is still being released
            if time.monotonic() > deadline:
                raise StdcError(f"cgroup {directory}: cannot remove: {e.strerror}") from None
            time.sleep(0.002)


# -- what a crash orphaned -------------------------------------------------------------------------


def hierarchies() -> list[str]:
    """Every hierarchy mounted under /sys/fs/cgroup, each once (cpu and cpuacct are often one):
    the unified tree alone on cgroup v2; on v1 every controller's and named hierarchy."""
    if is_unified():
        return [ROOT]
    found: list[str] = []
    try:
        entries = sorted(os.listdir(ROOT))
    except FileNotFoundError:
        return []
    for entry in entries:
        real = os.path.realpath(os.path.join(ROOT, entry))
        if real not in found and os.path.exists(os.path.join(real, "cgroup.procs")):
            found.append(real)
    return found


def _held(relative: str) -> bool:
    """Whether a process is in the cgroup ``relative`` or below it, in any hierarchy."""
    for hierarchy in hierarchies():
        for directory, _dirs, _files in os.walk(os.path.join(hierarchy, relative)):
            if pids(directory):
                return True
    return False


def orphans(parent: str, live_ids: set[str]) -> list[str]:
    """The cgroups (``<parent>/<name>``, relative) under ``parent`` in any hierarchy whose name
    is a container id (or an id and a suffix, such as ``<id>.lxc-monitor``) that is not in
    ``live_ids`` and that hold no process: what a crash left of a container no record owns."""
    found: set[str] = set()
    for hierarchy in hierarchies():
        try:
            names = os.listdir(os.path.join(hierarchy, parent))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            cid = name.split(".", 1)[0]
            if len(cid) == 64 and all(ch in "0123456789abcdef" for ch in cid) and cid not in live_ids:
                found.add(f"{parent}/{name}")
    return sorted(relative for relative in found if not _held(relative))


def remove_everywhere(relative: str) -> None:
    """Remove the cgroup ``relative`` and what is below it (deepest first) in every hierarchy."""
    for hierarchy in hierarchies():
        top = os.path.join(hierarchy, relative)
        for directory, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            remove(directory, relative)


# -- what executors report about a container's cgroups: usage, processes, freezing, OOM kills ------
#
# Every executor puts the container's processes in the cgroup its spec names
# (``linux.cgroupsPath``, ``stdc/…/<id>``): these read and write that cgroup the same way for all.

#: v1 reports an unlimited memory.limit_in_bytes as (about) this
_V1_UNLIMITED = 1 << 62


def is_unified() -> bool:
    """Whether the host runs the unified hierarchy (cgroup v2 only)."""
    return os.path.exists(os.path.join(ROOT, "cgroup.controllers"))


def version() -> int:
    """The host's cgroup version: 2 on the unified hierarchy, else 1."""
    return 2 if is_unified() else 1


def swap_accounted() -> bool:
    """Whether the host's memory controller limits swap: always in v2; in v1 only with swap
    accounting built in and on (``memory.memsw.limit_in_bytes`` exists)."""
    return is_unified() or os.path.exists(os.path.join(ROOT, "memory", "memory.memsw.limit_in_bytes"))


def directory(relative: str, controller: str) -> str:
    """The container's cgroup directory for ``controller`` (v1), or its one directory (v2)."""
    if is_unified():
        return os.path.join(ROOT, relative)
    return os.path.join(os.path.realpath(os.path.join(ROOT, controller)), relative)


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _keyed(text: str | None) -> dict[str, int]:
    """``key value`` lines (memory.stat, cpu.stat, memory.events, memory.oom_control)."""
    found: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            found[key] = int(value)
    return found


def memory_events_file(relative: str) -> str:
    """The file whose ``oom_kill`` line counts the container's OOM kills: memory.oom_control
    (v1) or memory.events (v2)."""
    name = "memory.events" if is_unified() else "memory.oom_control"
    return os.path.join(directory(relative, "memory"), name)


def oom_kills(text: str | None) -> int:
    """The ``oom_kill`` count in the text of :func:`memory_events_file` (0 when absent)."""
    return _keyed(text).get("oom_kill", 0)


def oom_killed(relative: str) -> bool:
    """Whether the kernel's OOM killer killed a process of the container, read from its cgroup
    (which must still exist: read it before removing it)."""
    return oom_kills(_read(memory_events_file(relative))) > 0


def _host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def usage(relative: str) -> dict | None:
    """What ``stdc stats`` shows of a container: ``{"cpu_ns", "memory", "memory_limit",
    "pids"}`` (memory without the reclaimable page cache, as docker counts it), or None when
    the container has no cgroup."""
    if is_unified():
        base = os.path.join(ROOT, relative)
        cpu = _keyed(_read(os.path.join(base, "cpu.stat")))
        if "usage_usec" not in cpu:
            return None
        cpu_ns = cpu["usage_usec"] * 1000
        current = int(_read(os.path.join(base, "memory.current")) or 0)
        cache = _keyed(_read(os.path.join(base, "memory.stat"))).get("inactive_file", 0)
        raw_limit = _read(os.path.join(base, "memory.max")) or "max"
        limit = _host_memory() if raw_limit == "max" else int(raw_limit)
        pids = _read(os.path.join(base, "pids.current"))
    else:
        raw_cpu = _read(os.path.join(directory(relative, "cpuacct"), "cpuacct.usage"))
        if raw_cpu is None:
            return None
        cpu_ns = int(raw_cpu)
        memory_dir = directory(relative, "memory")
        current = int(_read(os.path.join(memory_dir, "memory.usage_in_bytes")) or 0)
        cache = _keyed(_read(os.path.join(memory_dir, "memory.stat"))).get("total_inactive_file", 0)
        limit = int(_read(os.path.join(memory_dir, "memory.limit_in_bytes")) or _V1_UNLIMITED)
        limit = min(limit, _host_memory())
        pids = _read(os.path.join(directory(relative, "pids"), "pids.current"))
    return {
        "cpu_ns": cpu_ns,
        "memory": max(0, current - cache),
        "memory_limit": limit,
        "pids": int(pids or 0),
    }


def processes(relative: str) -> list[int]:
    """The host pids of the container's processes (its cgroup's members)."""
    return pids(directory(relative, "pids"))


def freeze(relative: str, frozen: bool) -> None:
    """Freeze (pause) or thaw the container's processes, and wait until the kernel says done:
    the v1 freezer's ``freezer.state``, or v2's ``cgroup.freeze``."""
    if is_unified():
        base = os.path.join(ROOT, relative)
        target, wanted = os.path.join(base, "cgroup.freeze"), "1" if frozen else "0"

        def done() -> bool:
            return _keyed(_read(os.path.join(base, "cgroup.events"))).get("frozen") == int(wanted)

    else:
        base = directory(relative, "freezer")
        target, wanted = os.path.join(base, "freezer.state"), "FROZEN" if frozen else "THAWED"

        def done() -> bool:
            return _read(target) == wanted

    if not os.path.isdir(base):
        raise StdcError(f"cgroup {base}: not there: cannot {'pause' if frozen else 'unpause'} the container")
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        try:
            with open(target, "w") as f:
                f.write(wanted)
        except OSError as e:
            raise StdcError(f"cgroup {target}: cannot write {wanted}: {e.strerror}") from None
        if done():
            return
        if time.monotonic() > deadline:
            raise StdcError(f"cgroup {base}: not {wanted.lower()} after {KILL_TIMEOUT:.0f} s")
        time.sleep(0.005)  # v1 FREEZING: the write is repeated until every task is frozen


def _v1_memory_order(relative: str, found: list[cgroupsettings.Setting]) -> list[cgroupsettings.Setting]:
    """v1 refuses a memory limit above the memory+swap limit in force, and a memory+swap limit
    below the memory limit in force: raising memory+swap writes it before the memory limit
    (runc's order), lowering it after."""
    memsw = next((s for s in found if s.file == "memory.memsw.limit_in_bytes"), None)
    if memsw is None:
        return found
    current = _read(os.path.join(directory(relative, "memory"), memsw.file))
    wanted = int(memsw.value)
    if current is None or (0 <= wanted < int(current)):
        return found
    return [memsw, *(s for s in found if s is not memsw)]


def write_settings(relative: str, resources: dict) -> None:
    """Write ``resources`` (a spec's ``linux.resources``, or the sections of it that changed)
    into the existing cgroups of the container ``relative``, as
    :mod:`stdc.kit.cgroupsettings` translates them (``stdc update``, ``stdc-runtime update``).

    A value the kernel refuses (a memory limit below what the container uses now is busy in
    v1) is a one-line :class:`~stdc.errors.StdcError`; the settings before it stay written.
    """
    found = cgroupsettings.settings(resources, version(), swap_accounting=swap_accounted())
    if not is_unified():
        found = _v1_memory_order(relative, found)
    for setting in found:
        path = os.path.join(directory(relative, setting.controller), setting.file)
        try:
            with open(path, "w") as f:
                f.write(setting.value)
        except OSError as e:
            busy = setting.controller == "memory" and e.errno == errno.EBUSY
            why = " (the container uses more than that now)" if busy else ""
            raise StdcError(f"cannot set {setting.file} to {setting.value}: {e.strerror}{why}") from None
