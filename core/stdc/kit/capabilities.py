"""Capability names (linux/capability.h), shared by the core and every executor."""

from __future__ import annotations

from stdc.errors import BadInput

#: Capability names by number.
NAMES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)


def last_cap() -> int:
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return min(int(f.read()), len(NAMES) - 1)
    except (OSError, ValueError):
        return len(NAMES) - 1


def all_known() -> list[str]:
    """Every capability of this kernel that stdc itself holds in its bounding set: what
    ``--privileged`` and ``--cap-add ALL`` give (a container cannot get more than its runtime)."""
    held = (1 << (last_cap() + 1)) - 1
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"CapBnd:"):
                    held = int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return [name for n, name in enumerate(NAMES[: last_cap() + 1]) if held >> n & 1]


def normalize(name: str) -> str:
    """``net_admin``, ``NET_ADMIN`` or ``CAP_NET_ADMIN`` -> ``CAP_NET_ADMIN``; ``all`` -> ``ALL``."""
    key = name.strip().upper()
    if key == "ALL":
        return key
    if not key.startswith("CAP_"):
        key = "CAP_" + key
    if key not in NAMES:
        raise BadInput(f"unknown capability: {name!r}")
    return key


def tweak(basics: list[str], add: list[str], drop: list[str]) -> list[str]:
    """The capability set from ``basics`` with ``--cap-add`` and ``--cap-drop``, docker's rules:
    ``--cap-add ALL`` gives every capability but the dropped ones; ``--cap-drop ALL`` keeps only
    the added ones; otherwise drop, then add."""
    add = [normalize(n) for n in add]
    drop = [normalize(n) for n in drop]
    if "ALL" in add:
        caps = [c for c in all_known() if c not in drop]
    elif "ALL" in drop:
        caps = [c for c in add if c != "ALL"]
    else:
        caps = [c for c in basics if c not in drop] + add
    return list(dict.fromkeys(caps))
