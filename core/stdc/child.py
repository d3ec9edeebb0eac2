"""The first steps of a container's init, the same in every executor: part of the published API.

Called in the forked child before anything else: default signal dispositions, a session of its
own, the payload's stdio on 0-2, the executor's report pipe on 3 (close-on-exec) and every other
descriptor of the runtime closed, so none reaches the payload.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal

REPORT_FD = 3
_MAX_FD = 0x7FFFFFFF  # closerange's bound; the kernel bounds the work by the open descriptors


def handled_signals() -> list[int]:
    """The signals this process ignores or catches, from the kernel's view in /proc (the signal
    module's valid_signals and getsignal build an enum per signal: ~0.5 ms)."""
    masks = 0
    with open("/proc/thread-self/status", "rb") as f:
        for line in f:
            if line.startswith((b"SigIgn:", b"SigCgt:")):
                masks |= int(line.split()[1], 16)
    return [sig for sig in range(1, 65) if masks >> (sig - 1) & 1 and sig not in (signal.SIGKILL, signal.SIGSTOP)]


def own_process(stdio: tuple[int, int, int], report_w: int) -> int:
    """Make this (forked) process the container's own; returns the report pipe's descriptor."""
    for sig in handled_signals():  # the others are at their default already
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    os.setsid()
    # move everything above 3 first, so that no dup2 below overwrites a descriptor still needed
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, REPORT_FD + 1) for fd in (*stdio, report_w)]
    for target, fd in enumerate(high[:3]):
        os.dup2(fd, target)
    os.dup2(high[3], REPORT_FD, inheritable=False)
    os.closerange(REPORT_FD + 1, _MAX_FD)
    return REPORT_FD
