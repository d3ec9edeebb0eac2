"""The run flags that reach the kernel outside cgroups (issue 17 §2): ``--ulimit``, ``--sysctl``,
``--pid``, ``--ipc``, ``--uts``, ``--cgroupns``, ``--cgroup-parent``, ``--group-add``,
``--shm-size``, ``--oom-score-adj``, ``--init``, ``--storage-opt`` and docker's Windows-only
``--cpu-count``/``--cpu-percent``/``--io-maxbandwidth``/``--io-maxiops``.

:func:`plan` checks them all (docker's rules and messages) before anything is made and returns a
:class:`KernelPlan`, which writes them into the OCI spec (``process.rlimits``,
``process.oomScoreAdj``, ``process.user.additionalGids``, ``linux.sysctl``, ``linux.namespaces``,
``linux.cgroupsPath``, mounts) and names them as docker's HostConfig does for ``inspect``.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stdc.engine.resources import parse_size
from stdc.errors import BadInput, Conflict

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.options import RunOptions
    from stdc.engine.state import Container

#: docker's --ulimit names (pkg/ulimit) -> the spec's rlimit type
ULIMITS = {
    name: "RLIMIT_" + name.upper()
    for name in (
        "as",
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    )  # fmt: skip
}
#: the OCI spec's unlimited (RLIM_INFINITY as a uint64); docker writes it -1
UNLIMITED = (1 << 64) - 1
#: sysctls of the IPC namespace docker accepts (opts.ValidateSysctl); net.* and fs.mqueue.* too
IPC_SYSCTLS = frozenset(
    {
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    }  # fmt: skip
)
#: where --init's binary appears in the container (docker's path)
INIT_PATH = "/sbin/docker-init"
#: static init programs, the first one found on the host is used (Debian: catatonit, tini)
INIT_PROGRAMS = ("catatonit", "tini-static")
_GROUP = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$")
_NAMESPACE_MODES = {
    "pid": ("", "host"),
    "ipc": ("", "private", "shareable", "host", "none"),
    "uts": ("", "host"),
    "cgroupns": ("", "host", "private"),
}


@dataclass
class KernelFlags:
    """The flags as given (strings as typed; docker's syntax)."""

    ulimits: list[str] = field(default_factory=list)
    sysctls: list[str] = field(default_factory=list)
    pid: str | None = None
    ipc: str | None = None
    uts: str | None = None
    cgroupns: str | None = None
    cgroup_parent: str | None = None
    group_add: list[str] = field(default_factory=list)
    shm_size: str | None = None
    oom_score_adj: int | None = None
    init: bool = False
    storage_opt: list[str] = field(default_factory=list)
    cpu_count: int | None = None
    cpu_percent: int | None = None
    io_maxbandwidth: str | None = None
    io_maxiops: int | None = None


@dataclass
class KernelPlan:
    """What the flags do to the spec, checked; ``host_config`` names them as docker does."""

    rlimits: list[dict] = field(default_factory=list)
    sysctl: dict[str, str] = field(default_factory=dict)
    #: namespace type -> None: the host's (no new one), or the path of another container's to join
    namespaces: dict[str, str | None] = field(default_factory=dict)
    groups: list[int | str] = field(default_factory=list)
    shm_size: int | None = None
    #: where /dev/shm comes from: "tmpfs" (its own), "none", or a host path to bind (--ipc host)
    shm_source: str = "tmpfs"
    oom_score_adj: int | None = None
    #: the container's cgroups lie at ``<cgroup_parent>/<id>``
    cgroup_parent: str = ""
    init: str | None = None
    host_config: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def apply(self, spec: dict) -> None:
        """Write the plan into ``spec`` (built by :func:`stdc.kit.ocispec.build_spec`)."""
        process, linux = spec["process"], spec["linux"]
        if self.rlimits:
            process["rlimits"] = [dict(r) for r in self.rlimits]
        if self.oom_score_adj is not None:
            process["oomScoreAdj"] = self.oom_score_adj
        numbers = [g for g in self.groups if isinstance(g, int)]
        names = [g for g in self.groups if isinstance(g, str)]
        if numbers:
            process["user"]["additionalGids"] = numbers
        if names:
            process["user"]["additionalGroupnames"] = names
        if self.sysctl:
            linux["sysctl"] = dict(self.sysctl)
        kept = []
        for ns in linux["namespaces"]:
            kind = ns["type"]
            if kind not in self.namespaces:
                kept.append(ns)
            elif self.namespaces[kind]:
                kept.append({"type": kind, "path": self.namespaces[kind]})
        linux["namespaces"] = kept
        if "uts" in self.namespaces:
            spec.pop("hostname", None)
        self._shm(spec)
        if self.init:
            spec["mounts"].append(
                {"destination": INIT_PATH, "type": "bind", "source": self.init, "options": ["bind", "ro", "nosuid"]}
            )
            process["args"] = [INIT_PATH, "--", *process["args"]]

    def _shm(self, spec: dict) -> None:
        mounts = spec["mounts"]
        index = next((i for i, m in enumerate(mounts) if m["destination"] == "/dev/shm"), None)
        if index is None:
            return
        if self.shm_source == "none":
            del mounts[index]
        elif self.shm_source != "tmpfs":
            mounts[index] = {"destination": "/dev/shm", "type": "bind", "source": self.shm_source,
                             "options": ["rbind", "rprivate", "nosuid", "nodev", "noexec"]}  # fmt: skip
        elif self.shm_size is not None:
            options = [o for o in mounts[index]["options"] if not o.startswith("size=")]
            mounts[index] = {**mounts[index], "options": [*options, f"size={self.shm_size}"]}


def parse_ulimit(value: str) -> dict:
    """``--ulimit NAME=SOFT[:HARD]`` (-1: unlimited) as a spec rlimit."""
    name, sep, limits = value.partition("=")
    if not sep or not limits:
        raise BadInput(f"invalid ulimit argument: {value}")
    if name not in ULIMITS:
        raise BadInput(f"invalid ulimit type: {name}")
    soft_text, _, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise BadInput(f"invalid ulimit argument: {value}") from None
    soft, hard = (UNLIMITED if n == -1 else n for n in (soft, hard))
    if min(soft, hard) < 0:
        raise BadInput(f"invalid ulimit argument: {value}")
    if soft > hard:
        raise BadInput(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"type": ULIMITS[name], "soft": soft, "hard": hard}


def parse_sysctl(value: str, network: str | None, ipc: str) -> tuple[str, str]:
    """``--sysctl KEY=VALUE``: only the namespaced ones docker allows, and not those of a
    namespace shared with the host."""
    key, sep, setting = value.partition("=")
    key = key.strip()
    if not sep or not key:
        raise BadInput(f"sysctl '{value}' is not allowed: expected KEY=VALUE")
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        if ipc == "host" or ipc.startswith("container:"):
            raise BadInput(f"sysctl '{key}' is not allowed: the container shares an IPC namespace (--ipc {ipc})")
    elif key.startswith("net."):
        if network == "host":
            raise BadInput(f"sysctl '{key}' is not allowed in the host's network namespace (--network host)")
    else:
        raise BadInput(
            f"sysctl '{key}' is not allowed: only namespaced ones (net.*, fs.mqueue.*, kernel.msg*, "
            "kernel.sem, kernel.shm*) can be set for one container"
        )
    if not os.path.exists("/proc/sys/" + key.replace(".", "/")):
        raise BadInput(f"sysctl '{key}': this kernel has no such setting")
    return key, setting


def _namespace_mode(kind: str, value: str | None) -> str:
    value = value or ""
    if value in _NAMESPACE_MODES[kind]:
        return value
    if kind in ("pid", "ipc") and value.startswith("container:") and len(value) > len("container:"):
        return value
    choices = "|".join(m for m in _NAMESPACE_MODES[kind] if m)
    extra = "|container:NAME" if kind in ("pid", "ipc") else ""
    raise BadInput(f"invalid --{kind} value {value!r}: {choices}{extra}")


def init_pid(engine: Engine, ref: str) -> tuple[str, int]:
    """The id of the running container ``ref`` and its init's host pid (the earliest-started
    process of its cgroup: the executor's recorded pid may be a monitor of its own)."""
    from stdc.kit.processes import process_start_time

    c = engine.container(ref)
    if not c.running:
        raise Conflict(f"container {c.name} is not running: cannot join its namespaces")
    executor, spec = engine.executor(c)
    found = executor.hook.exec_processes(container_id=c.id, bundle=engine.bundle(c), spec=spec) or []
    pids = [p for p in found if process_start_time(p) is not None]
    if not pids:
        raise Conflict(f"container {c.name} has no processes: cannot join its namespaces")
    return c.id, min(pids, key=lambda p: (process_start_time(p) or 0, p))


def _cgroup_parent(value: str, default_parent: str) -> str:
    """``--cgroup-parent``: under stdc's own subtree only; a relative one lies under the configured
    parent (``cgroup_parent``, default ``stdc``)."""
    clean = value.strip()
    parts = clean.strip("/").split("/")
    if not clean.strip("/") or any(p in ("", ".", "..") or ":" in p for p in parts) or clean.endswith(".slice"):
        raise BadInput(f"--cgroup-parent {value!r}: a cgroupfs path such as stdc/batch (no systemd slices)")
    if clean.startswith("/"):
        if parts[0] != "stdc":
            raise BadInput(f"--cgroup-parent {value!r}: stdc makes cgroups only under /stdc/ (e.g. /stdc/batch)")
        return "/".join(parts)
    if parts[0] == "stdc":
        return "/".join(parts)
    return f"{default_parent}/{'/'.join(parts)}"


def _init_program() -> str:
    for name in INIT_PROGRAMS:
        found = shutil.which(name)
        if found:
            return os.path.realpath(found)
    raise BadInput("--init needs catatonit (or tini-static) on the host; scripts/setup installs catatonit")


def plan(engine: Engine, opts: RunOptions, storage: str) -> KernelPlan:
    """Check every kernel-level flag of ``opts``; make nothing."""
    flags = opts.kernel
    result = KernelPlan(cgroup_parent=engine.config.cgroup_parent)
    hc = result.host_config
    _windows_only(flags, result)
    if flags.storage_opt:
        raise BadInput(
            f"--storage-opt {flags.storage_opt[0]}: storage driver {storage} does not support per-container "
            "options such as size (no stdc storage driver limits a container's size)"
        )
    result.rlimits = [parse_ulimit(u) for u in flags.ulimits]
    hc["Ulimits"] = [
        {"Name": r["type"][7:].lower(), "Soft": _docker_limit(r["soft"]), "Hard": _docker_limit(r["hard"])}
        for r in result.rlimits
    ]
    modes = {kind: _namespace_mode(kind, getattr(flags, kind)) for kind in _NAMESPACE_MODES}
    if modes["uts"] == "host" and opts.hostname:
        raise BadInput("Conflicting options: hostname and the UTS mode")
    ipc = modes["ipc"] or "private"
    for value in flags.sysctls:
        key, setting = parse_sysctl(value, opts.network, ipc)
        result.sysctl[key] = setting
    hc["Sysctls"] = dict(result.sysctl)
    _namespaces(engine, modes, result)
    hc.update(PidMode=modes["pid"], IpcMode=ipc, UTSMode=modes["uts"], CgroupnsMode=modes["cgroupns"] or "private")
    if flags.shm_size is not None:
        result.shm_size = parse_size(flags.shm_size, "--shm-size")
        if result.shm_size <= 0:
            raise BadInput("SHM size must be greater than 0")
    hc["ShmSize"] = result.shm_size or 64 << 20
    for group in flags.group_add:
        if group.isdigit():
            result.groups.append(int(group))
        elif _GROUP.match(group):
            result.groups.append(group)
        else:
            raise BadInput(f"--group-add {group!r}: a group name or number")
    hc["GroupAdd"] = list(flags.group_add)
    if flags.oom_score_adj is not None:
        if not -1000 <= flags.oom_score_adj <= 1000:
            raise BadInput(f"Invalid value {flags.oom_score_adj}, range for oom score adj is [-1000, 1000]")
        result.oom_score_adj = flags.oom_score_adj
    hc["OomScoreAdj"] = flags.oom_score_adj or 0
    if flags.cgroup_parent:
        result.cgroup_parent = _cgroup_parent(flags.cgroup_parent, engine.config.cgroup_parent)
        hc["CgroupParent"] = flags.cgroup_parent
    else:
        hc["CgroupParent"] = ""
    if flags.init:
        result.init = _init_program()
    hc["Init"] = flags.init
    return result


def _docker_limit(value: int) -> int:
    return -1 if value == UNLIMITED else value


def _namespaces(engine: Engine, modes: dict[str, str], result: KernelPlan) -> None:
    """The namespace modes as changes to the spec's namespaces, and /dev/shm's source."""
    for kind, oci in (("pid", "pid"), ("ipc", "ipc"), ("uts", "uts"), ("cgroupns", "cgroup")):
        mode = modes[kind]
        if mode == "host":
            result.namespaces[oci] = None
        elif mode.startswith("container:"):
            cid, pid = init_pid(engine, mode.split(":", 1)[1])
            modes[kind] = f"container:{cid}"
            # the IPC namespace (SysV IPC, POSIX message queues) only: the other container's
            # /dev/shm is a mount of its own mount namespace, which cannot be bound from outside
            result.namespaces[oci] = f"/proc/{pid}/ns/{oci}"
    if modes["ipc"] == "host":
        result.shm_source = "/dev/shm"
    elif modes["ipc"] == "none":
        result.shm_source = "none"


def _windows_only(flags: KernelFlags, result: KernelPlan) -> None:
    """docker's Linux daemon discards --cpu-count and --cpu-percent with a warning and refuses
    the IO maximums (daemon_unix.go); stdc does the same."""
    if flags.io_maxbandwidth not in (None, "0") or flags.io_maxiops:
        raise BadInput("Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps")
    if flags.cpu_count:
        result.warnings.append("linux does not support CPU count. Count discarded.")
    if flags.cpu_percent:
        result.warnings.append("linux does not support CPU percent. Percent discarded.")


def rejoin(engine: Engine, c: Container, spec: dict) -> None:
    """At each start, point the spec's ``--pid``/``--ipc container:X`` joins at X's init as it runs
    now (X may have restarted since ``create``), as docker resolves them at start; the bundle's
    config.json is rewritten to match."""
    import json

    modes = c.config.get("host_config") or {}
    joins = {oci: modes.get(key, "") for key, oci in (("PidMode", "pid"), ("IpcMode", "ipc"))}
    joins = {oci: mode.split(":", 1)[1] for oci, mode in joins.items() if mode.startswith("container:")}
    if not joins:
        return
    for ns in spec["linux"]["namespaces"]:
        if ns["type"] in joins:
            _, pid = init_pid(engine, joins[ns["type"]])
            ns["path"] = f"/proc/{pid}/ns/{ns['type']}"
    path = os.path.join(engine.bundle(c), "config.json")
    with open(path + ".tmp", "w") as f:
        json.dump(spec, f, indent=1)
    os.replace(path + ".tmp", path)
