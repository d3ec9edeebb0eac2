"""The per-container monitor: where it records a container's output and exit, and its binary.

Every container runs under a monitor, a small C program (libexec/stdc-monitor.c) like podman's
conmon: it holds the read ends of the payload's stdout and stderr, appends them to the
container's log as JSON lines (docker's json-file format: ``{"log", "stream", "time"}``), echoes
them when attached, reaps the payload and writes its exit status. A detached container's monitor
also holds the payload's terminal or stdin and serves ``attach.sock`` (see :mod:`stdc.attach`),
and at the end execs ``stdc internal-cleanup`` to release what the backends hold. C, because it lives as
long as the container: a Python process would cost a running container ~5 MB of host memory.
"""

from __future__ import annotations

import json
import os
from typing import Any

LOG_FILE = "log.json"
EXIT_FILE = "exit.json"
MONITOR_LOG = "monitor.log"


def binary(root: str) -> str:
    """The monitor executable for this stdc root, built from the shipped source on first use."""
    from stdc.libexec.build import monitor_path

    return monitor_path(os.path.join(root, "libexec"))


def read_exit(bundle: str) -> dict | None:
    """The recorded exit of a container's last run, ``{"exit_code", "finished"}``, or None."""
    try:
        with open(os.path.join(bundle, EXIT_FILE)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


class Wiring:
    """The descriptors between a payload and its monitor, made in the monitor-to-be.

    ``stdio`` are the payload's 0-2 for the executor: the slave of a new pseudo-terminal with
    ``terminal``; else pipes for stdout and stderr, and for stdin ``stdin`` (the foreground's own)
    or, when detached and ``interactive``, a pipe the monitor feeds from its clients, else
    ``null``. :meth:`hand_over` then puts the monitor's ends where stdc-monitor.c wants them: 3
    the output (or the terminal's master), 4 the errors, 5 the stdin pipe, 6 the attach socket
    (detached), 7 a client already connected (``client``), and :attr:`flags` say which.
    """

    def __init__(
        self,
        bundle: str,
        null: int,
        *,
        terminal: bool,
        interactive: bool,
        detach: bool,
        stdin: int | None = None,
        client: Any = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        self.null = null
        self.fds: dict[int, int] = {}
        self.flags: list[str] = []
        if detach or size:
            from stdc import attach  # ~5 ms to import: not for a plain foreground run
        if detach:
            self.fds[6] = attach.bind(bundle).detach()
            self.flags.append("-l")
        if client is not None:
            self.fds[7] = client.detach()
            self.flags.append("-c")
        if terminal:
            master, slave = os.openpty()  # the slave opened O_NOCTTY: it stays nobody's terminal
            if size:
                attach.set_size(master, *size)
            self.fds[3] = master
            self.stdio = (slave, slave, slave)
            self.flags += ["-t", "-i"] if interactive else ["-t"]
            return
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        self.fds[3], self.fds[4] = out_r, err_r
        if stdin is None and interactive and detach:
            stdin, self.fds[5] = os.pipe2(os.O_CLOEXEC)
            self.flags.append("-i")
        self.stdio = (null if stdin is None else stdin, out_w, err_w)

    def hand_over(self) -> None:
        """Once the payload runs: drop its ends here, put the monitor's on 3-7 (inheritable)."""
        import fcntl

        for fd in set(self.stdio) - {self.null}:
            os.close(fd)
        high = {target: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for target, fd in self.fds.items()}
        for target, fd in high.items():
            os.dup2(fd, target)
