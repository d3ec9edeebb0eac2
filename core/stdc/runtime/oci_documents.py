"""The documents ``features`` and ``spec`` print: what this runtime supports (runtime-spec
features.md) and a starting ``config.json`` (runc's ``spec``)."""

from __future__ import annotations

from stdc.kit import capabilities, ocispec
from stdc.kit.syscalls import NAMESPACE_FLAGS

#: the runtime-spec versions whose config.json the runtime reads
OCI_VERSION_MIN = "1.0.0"
OCI_VERSION_MAX = "1.2.0"

HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
MOUNT_OPTIONS = sorted(
    {
        "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "atime", "nodiratime",
        "diratime", "relatime", "norelatime", "strictatime", "nostrictatime", "bind", "rbind", "defaults",
        "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable",
    }
)  # fmt: skip


def features() -> dict:
    """``features``: the runtime-spec features document."""
    return {
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION_MAX,
        "hooks": HOOKS,
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": sorted(NAMESPACE_FLAGS),
            "capabilities": capabilities.all_known(),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {"enabled": True},
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"org.opencontainers.runc.version": "stdc", "io.github.stdc.runtime": "stdc-runtime"},
    }


def default_spec() -> dict:
    """``spec``: runc's default ``config.json`` — ``sh`` on a terminal in ``rootfs``, read-only."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    namespaces = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [f"PATH={ocispec.DEFAULT_PATH}", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [m for m in ocispec.DEFAULT_MOUNTS if m["type"] != "cgroup"],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": namespaces,
            "maskedPaths": list(ocispec.MASKED_PATHS),
            "readonlyPaths": list(ocispec.READONLY_PATHS),
        },
    }
