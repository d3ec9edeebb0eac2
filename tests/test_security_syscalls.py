"""The security suite's syscall part (stdc.testing.security_syscalls) for every executor this
repo ships: seccomp, capabilities, no_new_privs and --privileged, checked from inside."""

from __future__ import annotations

from stdc.testing.security_syscalls import *  # noqa: F403 - the suite: its tests, fixtures and parametrization
from test_executors import _lxc_lock_dirs  # noqa: F401 - liblxc's lock dirs of this session's roots go too

#: the suite runs, unchanged, against each of these; one that is not usable here fails
EXECUTORS = ["native", "lxc"]
