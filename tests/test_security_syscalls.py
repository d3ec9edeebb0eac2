"""The security suite's syscall part (stdc.testing.security_syscalls) for every executor this
repo ships: seccomp, capabilities, no_new_privs and --privileged, checked from inside."""

from __future__ import annotations

from stdc.testing.security_syscalls import *  # noqa: F403 - the suite: its tests, fixtures and parametrization

#: the suite runs, unchanged, against each of these; one that is not usable here fails
EXECUTORS = ["native", "lxc"]
