"""The OCI runtime spec (runtime-spec config.json) the core hands every executor.

Defaults follow Docker's and runc's: the capability set, the mounts under /dev, /proc and /sys
(the container's own cgroups read-only at /sys/fs/cgroup, in a cgroup namespace), the masked and
read-only /proc paths. This is the one place a container's settings are
written down; ``<bundle>/config.json`` holds it for the container's life.
"""

from __future__ import annotations

DEFAULT_CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]

MASKED_PATHS = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
]

READONLY_PATHS = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
]

#: where a container sees its own cgroups (the spec's mount of type ``cgroup``)
CGROUP_MOUNT = "/sys/fs/cgroup"

DEFAULT_MOUNTS = [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {
        "destination": "/dev",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
        "destination": "/dev/pts",
        "type": "devpts",
        "source": "devpts",
        "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
        "destination": "/dev/shm",
        "type": "tmpfs",
        "source": "shm",
        "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    # runc's and docker's: the executor shows the container's own cgroup there (v2), or a tmpfs
    # with its own directory of each v1 hierarchy; "ro" unless --privileged
    {
        "destination": CGROUP_MOUNT,
        "type": "cgroup",
        "source": "cgroup",
        "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
]

#: Device nodes every container gets (runc's default allowed devices).
DEFAULT_DEVICES = [
    {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0},
    {"path": "/dev/zero", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666, "uid": 0, "gid": 0},
    {"path": "/dev/full", "type": "c", "major": 1, "minor": 7, "fileMode": 0o666, "uid": 0, "gid": 0},
    {"path": "/dev/random", "type": "c", "major": 1, "minor": 8, "fileMode": 0o666, "uid": 0, "gid": 0},
    {"path": "/dev/urandom", "type": "c", "major": 1, "minor": 9, "fileMode": 0o666, "uid": 0, "gid": 0},
    {"path": "/dev/tty", "type": "c", "major": 5, "minor": 0, "fileMode": 0o666, "uid": 0, "gid": 0},
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def build_spec(
    *,
    args: list[str],
    env: list[str],
    cwd: str,
    user: dict,
    hostname: str,
    rootfs: str,
    cgroups_path: str,
    netns: str | None,
    share_host_network: bool = False,
    terminal: bool = False,
    resources: dict | None = None,
    extra_mounts: list[dict] | None = None,
    annotations: dict | None = None,
) -> dict:
    """Build the OCI runtime spec of a container.

    ``user`` is ``{"uid": int, "gid": int, "additionalGids": [...]}``, or, for a user given by
    name, ``{"username": NAME}`` (optionally ``"groupname"``): the executor resolves names
    from the container's own /etc/passwd and /etc/group, after entering its root.
    ``netns`` is the path of a prepared network namespace to join; ``None`` creates a new one
    with only loopback; ``share_host_network`` keeps the host's.
    """
    from stdc.kit.devices import default_rules as default_device_rules

    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    if not share_host_network:
        namespaces.append({"type": "network", "path": netns} if netns else {"type": "network"})
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": terminal,
            "user": user,
            "args": args,
            "env": env,
            "cwd": cwd,
            "capabilities": {
                "bounding": list(DEFAULT_CAPABILITIES),
                "effective": list(DEFAULT_CAPABILITIES),
                "permitted": list(DEFAULT_CAPABILITIES),
                "inheritable": [],
                "ambient": [],
            },
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": [dict(m) for m in DEFAULT_MOUNTS] + list(extra_mounts or []),
        "annotations": dict(annotations or {}),
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": cgroups_path,
            # runc's default device list unless the caller gives one (--privileged: allow all)
            "resources": {"devices": default_device_rules(), **dict(resources or {})},
            "devices": [dict(d) for d in DEFAULT_DEVICES],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
            "rootfsPropagation": "rprivate",
        },
    }


class ProcessSpec:
    """The ``process`` of a spec, parsed and checked the same way for every executor."""

    __slots__ = ("args", "env", "cwd", "user", "umask", "terminal")

    def __init__(self, spec: dict) -> None:
        from stdc.errors import StdcError
        from stdc.kit import workdir

        process = spec.get("process") or {}
        self.terminal = bool(process.get("terminal"))
        self.args = [str(a) for a in process.get("args") or []]
        if not self.args:
            raise StdcError("the spec has no process.args")
        self.env: dict[str, str] = {}
        for item in process.get("env") or []:
            key, _, value = item.partition("=")
            self.env[key] = value
        self.cwd = process.get("cwd") or "/"
        if not self.cwd.startswith("/"):
            raise StdcError(f"process.cwd {self.cwd!r}: must be absolute")
        workdir.check(self.cwd)  # runc CVE-2024-21626: never a leaked descriptor
        self.user = dict(process.get("user") or {})
        self.umask = int(self.user.get("umask", 0o022))


def cgroup_relative(spec: dict, container_id: str) -> str:
    """The container's cgroup path (``stdc/…/<id>``, no leading slash), checked to lie under
    ``stdc/``: stdc never makes or touches a cgroup outside its own subtree."""
    from stdc.errors import StdcError

    raw = (spec.get("linux") or {}).get("cgroupsPath") or f"/stdc/{container_id}"
    parts = raw.strip("/").split("/")
    if len(parts) < 2 or parts[0] != "stdc" or any(p in ("", ".", "..") or ":" in p for p in parts):
        raise StdcError(f"cgroupsPath {raw!r}: must name a cgroup under /stdc/")
    return "/".join(parts)
