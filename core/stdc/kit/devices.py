"""Device control: which device nodes a container may create and open. Part of the published
API for executors.

The OCI spec carries it in two places: ``linux.devices`` (the nodes the executor creates) and
``linux.resources.devices`` (the cgroup allow/deny list, applied in order). The default list is
runc's (libcontainer/specconv ``AllowedDevices``), which docker uses: everything denied, then
``mknod`` of any node allowed (creating one does not grant opening it) and null, zero, full,
random, urandom, tty, console, ptmx and the pts slaves usable. ``--device HOST[:CONT[:rwm]]``
adds one node and the rule that opens it; ``[{"allow": true, "access": "rwm"}]`` allows all
(``--privileged``).

A spec without ``linux.resources.devices`` gets the default list, as runc gives it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from stdc.errors import BadInput, StdcError

_WILD = None


def _rule(kind: str, major: int | None, minor: int | None, access: str) -> dict:
    rule: dict = {"allow": True, "type": kind, "access": access}
    if major is not None:
        rule["major"] = major
    if minor is not None:
        rule["minor"] = minor
    return rule


#: runc's default: deny all, mknod of anything, then the nodes every container may use
DEFAULT_RULES: list[dict] = [
    {"allow": False, "access": "rwm"},
    _rule("c", _WILD, _WILD, "m"),
    _rule("b", _WILD, _WILD, "m"),
    _rule("c", 1, 3, "rwm"),  # /dev/null
    _rule("c", 1, 5, "rwm"),  # /dev/zero
    _rule("c", 1, 7, "rwm"),  # /dev/full
    _rule("c", 1, 8, "rwm"),  # /dev/random
    _rule("c", 1, 9, "rwm"),  # /dev/urandom
    _rule("c", 5, 0, "rwm"),  # /dev/tty
    _rule("c", 5, 1, "rwm"),  # /dev/console
    _rule("c", 5, 2, "rwm"),  # /dev/ptmx
    _rule("c", 136, _WILD, "rwm"),  # /dev/pts/*
]

#: every device usable: docker's --privileged
ALLOW_ALL: list[dict] = [{"allow": True, "access": "rwm"}]


def default_rules() -> list[dict]:
    """A fresh copy of :data:`DEFAULT_RULES`, for a new spec."""
    return [dict(r) for r in DEFAULT_RULES]


@dataclass(frozen=True)
class Rule:
    """One checked entry of ``linux.resources.devices``; ``None`` numbers are wildcards."""

    allow: bool
    type: str  # a, c or b
    major: int | None
    minor: int | None
    access: str

    def v1_lines(self) -> list[tuple[str, str]]:
        """As (file, line) for the cgroup v1 devices controller (also LXC's lxc.cgroup.devices.*).

        The kernel reads ``a`` as the whole default (every other field ignored): a rule of type
        ``a`` that is narrower than that is written as the same rule for ``c`` and ``b``.
        """
        name = "devices.allow" if self.allow else "devices.deny"
        if self.type == "a" and self.major is None and self.minor is None and self.access == "rwm":
            return [(name, "a")]
        kinds = ("c", "b") if self.type == "a" else (self.type,)
        number = f"{'*' if self.major is None else self.major}:{'*' if self.minor is None else self.minor}"
        return [(name, f"{kind} {number} {self.access}") for kind in kinds]


def _number(value: object, what: str) -> int | None:
    if value is None or value == -1:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StdcError(f"linux.resources.devices: {what} {value!r} is not a device number")
    return value


def cgroup_rules(resources: dict | None) -> list[Rule]:
    """``linux.resources.devices`` checked, in order; the default list when the spec has none."""
    raw = (resources or {}).get("devices")
    if raw is None:
        raw = DEFAULT_RULES
    if not isinstance(raw, list):
        raise StdcError("linux.resources.devices must be a list")
    rules = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("allow"), bool):
            raise StdcError(f"linux.resources.devices: {entry!r} needs allow: true or false")
        kind = entry.get("type") or "a"
        if kind not in ("a", "c", "b"):
            raise StdcError(f"linux.resources.devices: unknown type {kind!r}")
        access = entry.get("access") or "rwm"
        if not isinstance(access, str) or not set(access) <= set("rwm"):
            raise StdcError(f"linux.resources.devices: access {access!r} is not made of r, w and m")
        access = "".join(c for c in "rwm" if c in access)
        rules.append(Rule(entry["allow"], kind, _number(entry.get("major"), "major"),
                          _number(entry.get("minor"), "minor"), access))  # fmt: skip
    return rules


def allows_all(rules: list[Rule]) -> bool:
    """Whether the list ends up allowing everything (nothing to restrict)."""
    everything = [r for r in rules if r.type == "a" and r.major is None and r.minor is None and r.access == "rwm"]
    if not everything:
        return False
    last = rules.index(everything[-1])
    return everything[-1].allow and all(r.allow for r in rules[last:])


# -- --device HOST[:CONT[:PERMS]] ---------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """A host device given to a container: the node to create and the rule that opens it."""

    node: dict
    rule: dict


def parse_option(value: str) -> Grant:
    """``--device HOST[:CONT[:PERMS]]`` (docker's syntax; PERMS of r, w, m, default rwm)."""
    parts = value.split(":")
    if len(parts) > 3 or not parts[0]:
        raise BadInput(f"invalid device {value!r}: expected HOST[:CONTAINER[:PERMISSIONS]]")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1] else host
    access = parts[2] if len(parts) > 2 else "rwm"
    if len(parts) == 2 and parts[1] and set(parts[1]) <= set("rwm"):  # HOST:PERMS, as docker reads it
        inside, access = host, parts[1]
    if not access or not set(access) <= set("rwm"):
        raise BadInput(f"invalid device {value!r}: permissions {access!r} are not made of r, w and m")
    if not os.path.isabs(host) or not os.path.isabs(inside):
        raise BadInput(f"invalid device {value!r}: both paths must be absolute")
    inside = os.path.normpath(inside)
    if inside == "/" or inside.startswith(("/proc/", "/sys/")) or inside in ("/proc", "/sys", "/dev"):
        raise BadInput(f"invalid device {value!r}: {inside} cannot hold a device node")
    try:
        st = os.stat(host)
    except OSError as e:
        raise BadInput(f"device {host}: {e.strerror}") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise BadInput(f"device {host}: not a character or block device")
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    access = "".join(c for c in "rwm" if c in access)
    node = {"path": inside, "type": kind, "major": major, "minor": minor,
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}  # fmt: skip
    return Grant(node, {"allow": True, "type": kind, "major": major, "minor": minor, "access": access})


def grant(spec: dict, grants: list[Grant]) -> None:
    """Add the nodes and rules of ``--device`` options to a spec (after its defaults)."""
    if not grants:
        return
    linux = spec.setdefault("linux", {})
    nodes = linux.setdefault("devices", [])
    resources = linux.setdefault("resources", {})
    rules = resources.setdefault("devices", default_rules())
    for g in grants:
        nodes[:] = [n for n in nodes if n.get("path") != g.node["path"]] + [dict(g.node)]
        rules.append(dict(g.rule))


#: what docker's --privileged leaves out of the host's /dev: filesystems of the container's own
_NOT_HOST_NODES = ("/dev/pts", "/dev/shm", "/dev/mqueue")


def host_nodes() -> list[dict]:
    """Every character and block device under the host's /dev, as ``linux.devices`` entries:
    what docker's --privileged puts in the container's /dev."""
    nodes = []
    for directory, subdirs, files in os.walk("/dev"):
        subdirs[:] = [d for d in subdirs if os.path.join(directory, d) not in _NOT_HOST_NODES]
        for name in sorted(files):
            path = os.path.join(directory, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            kind = "c" if stat.S_ISCHR(st.st_mode) else "b" if stat.S_ISBLK(st.st_mode) else None
            if kind is None or path in ("/dev/console", "/dev/ptmx"):  # the container's own, as its pts
                continue
            nodes.append({"path": path, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                          "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid})  # fmt: skip
    return nodes
