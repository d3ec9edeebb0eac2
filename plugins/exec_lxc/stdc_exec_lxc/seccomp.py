"""The spec's ``linux.seccomp`` as an LXC seccomp policy (``lxc.seccomp.profile``, version 2).

LXC's text format: ``2``, then ``allowlist <default action>`` (or ``denylist``), then a section
(``[all]``: the native architecture and its compat ones) and one line per syscall and rule,
``NAME ACTION [index,datum,op,mask] ...``; the comparisons on one line must all hold, as the
spec's ``args`` of one rule (liblxc's masked comparison takes the datum first, the mask last).
liblxc compiles it with libseccomp and loads it right before executing the payload.
"""

from __future__ import annotations

import os

from stdc.errors import StdcError
from stdc.kit import seccomprules

#: the native libseccomp architecture of each ``uname -m`` LXC knows
_NATIVE = {
    "x86_64": "SCMP_ARCH_X86_64",
    "aarch64": "SCMP_ARCH_AARCH64",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64",
}


def _action(name: str, errno_ret: object, where: str) -> str:
    word = seccomprules.action(name, where).lxc
    if word is None:
        raise StdcError(f"seccomp: {where}: action {name!r} not supported by the lxc executor")
    if word == "errno":
        word += f" {seccomprules.errno_of(name, errno_ret)}"
    return word


def _comparison(arg: dict, where: str) -> str:
    op = arg.get("op")
    seccomprules.operator(op, where)
    index, value = int(arg["index"]), int(arg.get("value") or 0)
    if op == "SCMP_CMP_MASKED_EQ":
        # liblxc reads [index,datum,op,mask]: the OCI value is the mask, valueTwo the datum
        return f"[{index},{int(arg.get('valueTwo') or 0)},{op},{value}]"
    return f"[{index},{value},{op}]"


def to_lxc(seccomp: dict) -> str:
    """The policy text of ``seccomp`` (the OCI form); raises :class:`StdcError` for what LXC
    cannot say, before anything is started."""
    default = _action(seccomp.get("defaultAction", ""), seccomp.get("defaultErrnoRet"), "defaultAction")
    architectures = seccomp.get("architectures") or []
    native = _NATIVE.get(os.uname().machine)
    if architectures and native not in architectures:
        raise StdcError("seccomp: the lxc executor needs the profile to name this host's architecture")
    lines = ["2", f"allowlist {default}", "[all]"]
    for n, rule in enumerate(seccomp.get("syscalls") or []):
        where = f"syscalls[{n}]"
        action = _action(rule.get("action", ""), rule.get("errnoRet"), where)
        if action == default:
            continue  # libseccomp refuses a rule that does what the default does
        args = " ".join(_comparison(a, where) for a in rule.get("args") or [])
        for name in rule.get("names") or []:
            if not name.replace("_", "").isalnum():
                raise StdcError(f"seccomp: {where}: bad syscall name {name!r}")
            lines.append(f"{name} {action} {args}".rstrip())
    return "\n".join(lines) + "\n"
