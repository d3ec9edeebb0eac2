"""The words of the spec's ``linux.seccomp``: its actions and argument comparisons, and what
each means to libseccomp and to LXC — one table for every executor and for the profile checks.

An action (``SCMP_ACT_ERRNO``) is libseccomp's ``SCMP_ACT_*`` value, whose low 16 bits carry
the errno to return (``errnoRet``, EPERM unless given) or the tracer's message; LXC's policy
text names fewer actions, by a word (``errno 1``). A comparison (``SCMP_CMP_EQ``) is libseccomp's
``enum scmp_compare``, which LXC's policy text names as the spec does.
"""

from __future__ import annotations

from typing import NamedTuple

from stdc.errors import StdcError

#: the errno an ``SCMP_ACT_ERRNO`` rule without ``errnoRet`` returns (runc's default)
EPERM = 1


class Action(NamedTuple):
    """What one OCI seccomp action is to libseccomp and to LXC."""

    #: libseccomp's ``SCMP_ACT_*`` value, data bits clear
    libseccomp: int
    #: LXC's word for it, or None where LXC's policy cannot say it
    lxc: str | None
    #: whether the low 16 bits carry ``errnoRet``
    takes_data: bool = False


ACTIONS: dict[str, Action] = {
    "SCMP_ACT_KILL": Action(0x00000000, "kill"),
    "SCMP_ACT_KILL_THREAD": Action(0x00000000, "kill"),
    "SCMP_ACT_KILL_PROCESS": Action(0x80000000, "kill"),  # LXC kills the thread only
    "SCMP_ACT_TRAP": Action(0x00030000, "trap"),
    "SCMP_ACT_ERRNO": Action(0x00050000, "errno", takes_data=True),
    "SCMP_ACT_TRACE": Action(0x7FF00000, None, takes_data=True),
    "SCMP_ACT_LOG": Action(0x7FFC0000, "log"),
    "SCMP_ACT_ALLOW": Action(0x7FFF0000, "allow"),
}

#: OCI comparison -> libseccomp's ``enum scmp_compare``
OPERATORS: dict[str, int] = {
    "SCMP_CMP_NE": 1,
    "SCMP_CMP_LT": 2,
    "SCMP_CMP_LE": 3,
    "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5,
    "SCMP_CMP_GT": 6,
    "SCMP_CMP_MASKED_EQ": 7,
}


def action(name: str, where: str) -> Action:
    """The action called ``name``; :class:`StdcError` naming ``where`` (``syscalls[3]``) if unknown."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise StdcError(f"seccomp: {where}: unknown action {name!r}") from None


def errno_of(name: str, errno_ret: object) -> int:
    """The data an action carries: ``errnoRet`` (EPERM for ``SCMP_ACT_ERRNO`` without it), 0
    for an action that carries none."""
    if not ACTIONS[name].takes_data:
        return 0
    if errno_ret is None:
        return EPERM if name == "SCMP_ACT_ERRNO" else 0
    return int(str(errno_ret))


def operator(op: object, where: str) -> int:
    """libseccomp's number of the comparison ``op``; :class:`StdcError` naming ``where`` if unknown."""
    if op not in OPERATORS:
        raise StdcError(f"seccomp: {where}: unknown operator {op!r}")
    return OPERATORS[str(op)]
