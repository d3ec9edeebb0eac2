"""Seccomp profiles: docker's profile format resolved into the OCI spec's ``linux.seccomp``.

A profile in docker's format (``defaultAction``, ``archMap`` or ``architectures``,
``syscalls[].names/action/args/errnoRet/includes/excludes``) holds conditions on the container's
capabilities, the architecture and the kernel version; :func:`to_oci` resolves them once, when the
spec is built, for the container's bounding set, as docker does. The result is what runc reads:
``defaultAction``, ``defaultErrnoRet``, ``architectures`` and ``syscalls[].names/action/args/errnoRet``.

stdc's default profile (``seccomp-default.json`` beside this module) is docker's default
(moby ``profiles/seccomp/default.json``, without ``io_uring_*`` since moby#46762), plus one
refusal docker does not make: ``socket(AF_ALG)``, the kernel crypto API, a steady source of
kernel bugs reachable from a container and needed by almost no payload.
"""

from __future__ import annotations

import os
from typing import Any

from stdc.errors import BadInput
from stdc.kit import seccomprules

DEFAULT_PROFILE = os.path.join(os.path.dirname(__file__), "seccomp-default.json")

ACTIONS = frozenset(seccomprules.ACTIONS)
OPERATORS = frozenset(seccomprules.OPERATORS)

#: ``uname -m`` -> (libseccomp's native architecture, docker's name of it in ``includes.arches``)
_MACHINES = {
    "x86_64": ("SCMP_ARCH_X86_64", "amd64"),
    "aarch64": ("SCMP_ARCH_AARCH64", "arm64"),
    "armv7l": ("SCMP_ARCH_ARM", "arm"),
    "i686": ("SCMP_ARCH_X86", "386"),
    "ppc64le": ("SCMP_ARCH_PPC64LE", "ppc64le"),
    "s390x": ("SCMP_ARCH_S390X", "s390x"),
    "riscv64": ("SCMP_ARCH_RISCV64", "riscv64"),
    "mips64": ("SCMP_ARCH_MIPS64", "mips64"),
}

_default: dict | None = None


def default_profile() -> dict:
    """stdc's default profile, in docker's format (read once per process)."""
    global _default
    if _default is None:
        import json

        with open(DEFAULT_PROFILE, "rb") as f:
            _default = json.load(f)
    return _default


def read_profile(path: str) -> dict:
    """A profile file given with ``--security-opt seccomp=PATH``: docker's format, checked."""
    from stdc.kit.imagespec import read_json

    try:
        with open(path, "rb") as f:
            profile = read_json(f, f"seccomp profile {path}")
    except OSError as e:
        raise BadInput(f"seccomp profile {path}: {e.strerror}") from None
    if not isinstance(profile, dict):
        raise BadInput(f"seccomp profile {path}: not a JSON object")
    to_oci(profile, set())  # every mistake shows now, before anything is created
    return profile


def _kernel_at_least(wanted: str) -> bool:
    def numbers(release: str) -> tuple[int, ...]:
        out = []
        for part in release.split("-")[0].split(".")[:3]:
            digits = "".join(ch for ch in part if ch.isdigit())
            out.append(int(digits or 0))
        return tuple(out)

    return numbers(os.uname().release) >= numbers(wanted)


def _native() -> tuple[str, str]:
    machine = os.uname().machine
    if machine not in _MACHINES:
        raise BadInput(f"seccomp: architecture {machine} not supported")
    return _MACHINES[machine]


def _applies(rule: dict, caps: set[str], arch: str) -> bool:
    """Docker's rule: every ``includes`` condition holds and no ``excludes`` one does."""
    includes = rule.get("includes") or {}
    excludes = rule.get("excludes") or {}
    if includes.get("arches") and arch not in includes["arches"]:
        return False
    if excludes.get("arches") and arch in excludes["arches"]:
        return False
    if includes.get("caps") and not all(c in caps for c in includes["caps"]):
        return False
    if excludes.get("caps") and any(c in caps for c in excludes["caps"]):
        return False
    if includes.get("minKernel") and not _kernel_at_least(str(includes["minKernel"])):
        return False
    return not (excludes.get("minKernel") and _kernel_at_least(str(excludes["minKernel"])))


def _check_action(action: Any, where: str) -> str:
    if action not in ACTIONS:
        raise BadInput(f"seccomp: {where}: unknown action {action!r}")
    return str(action)


def _args(raw: Any, where: str) -> list[dict]:
    args = []
    indexes = set()
    for arg in raw or []:
        if not isinstance(arg, dict) or arg.get("op") not in OPERATORS:
            raise BadInput(f"seccomp: {where}: bad argument comparison {arg!r}")
        index = arg.get("index")
        if not isinstance(index, int) or not 0 <= index <= 5:
            raise BadInput(f"seccomp: {where}: argument index {index!r} is not 0 to 5")
        if index in indexes:
            # libseccomp compares each argument at most once per rule
            raise BadInput(f"seccomp: {where}: argument {index} compared twice in one rule")
        indexes.add(index)
        entry = {"index": index, "value": int(arg.get("value") or 0), "op": arg["op"]}
        if arg.get("valueTwo"):
            entry["valueTwo"] = int(arg["valueTwo"])
        args.append(entry)
    return args


def to_oci(profile: dict, caps: set[str]) -> dict:
    """``profile`` (docker's format) as the spec's ``linux.seccomp`` for a container whose bounding
    set is ``caps`` (``CAP_X`` names), on this host's architecture and kernel."""
    native, arch = _native()
    default = _check_action(profile.get("defaultAction"), "defaultAction")
    if profile.get("architectures") and profile.get("archMap"):
        raise BadInput("seccomp: give architectures or archMap, not both")
    architectures = list(profile.get("architectures") or [])
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            architectures = [native, *(entry.get("subArchitectures") or [])]
    out: dict[str, Any] = {"defaultAction": default, "architectures": architectures, "syscalls": []}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
    for n, rule in enumerate(profile.get("syscalls") or []):
        where = f"syscalls[{n}]"
        if not isinstance(rule, dict):
            raise BadInput(f"seccomp: {where}: not an object")
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        if not names or not all(isinstance(x, str) and x for x in names):
            raise BadInput(f"seccomp: {where}: no syscall names")
        action = _check_action(rule.get("action"), where)
        args = _args(rule.get("args"), where)
        if not _applies(rule, caps, arch):
            continue
        resolved: dict[str, Any] = {"names": list(names), "action": action}
        if args:
            resolved["args"] = args
        if rule.get("errnoRet") is not None:
            resolved["errnoRet"] = int(rule["errnoRet"])
        out["syscalls"].append(resolved)
    return out
