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


def log_flags(config: dict) -> list[str]:
    """The monitor's flags for the container's LogConfig: ``-n`` (the none driver), ``-r
    BYTES:FILES`` (json-file's max-size and max-file)."""
    log = config.get("LogConfig") or {}
    if log.get("Type") == "none":
        return ["-n"]
    if not (log.get("Config") or {}).get("max-size"):
        return []
    from stdc.engine.run_config import rotation

    rotating = rotation(log)
    return ["-r", f"{rotating[0]}:{rotating[1]}"] if rotating else []


def log_files(bundle: str) -> list[str]:
    """The container's log files that exist, the oldest first (``log.json.N`` ... ``log.json``)."""
    rotated = []
    for name in os.listdir(bundle) if os.path.isdir(bundle) else []:
        head, _, number = name.rpartition(".")
        if head == LOG_FILE and number.isdigit():
            rotated.append((int(number), name))
    return [os.path.join(bundle, name) for _, name in sorted(rotated, reverse=True)] + [os.path.join(bundle, LOG_FILE)]


def read_exit(bundle: str) -> dict | None:
    """The recorded exit of a container's last run, ``{"exit_code", "finished"}``, or None."""
    try:
        with open(os.path.join(bundle, EXIT_FILE)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


class Wiring:
    """The descriptors between a payload and its monitor, made in the monitor-to-be.

    ``stdio`` are the payload's 0-2 for the executor; with ``terminal``, the executor sends the
    master of the payload's terminal over :attr:`console_socket` (see
    :class:`stdc.engine.consoles.Terminal`); else pipes for stdout and stderr, and for stdin
    ``stdin`` (the foreground's own) or, when detached and ``interactive``, a pipe the monitor
    feeds from its clients, else ``null``. :meth:`hand_over` then puts the monitor's ends where
    stdc-monitor.c wants them: 3 the output (or the terminal's master), 4 the errors, 5 the stdin
    pipe, 6 the attach socket (detached), 7 a client already connected (``client``), and
    :attr:`flags` say which.
    """

    def __init__(
        self,
        bundle: str,
        null: int,
        executor: Any,
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
        self.terminal: Any = None
        self.console_socket: int | None = None
        if detach:
            from stdc import attach  # ~5 ms to import: not for a plain foreground run

            self.fds[6] = attach.bind(bundle).detach()
            self.flags.append("-l")
        if client is not None:
            self.fds[7] = client.detach()
            self.flags.append("-c")
        if terminal:
            from stdc.engine.consoles import Terminal

            self.terminal = Terminal(executor, "exec_start", null, size)
            self.stdio, self.console_socket = self.terminal.stdio, self.terminal.console_socket
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
        """Once the payload runs: drop its ends here (with a terminal, take its master), put the
        monitor's on 3-7 (inheritable)."""
        import fcntl

        if self.terminal is not None:
            self.fds[3] = self.terminal.master()
        else:
            for fd in set(self.stdio) - {self.null}:
                os.close(fd)
        high = {target: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for target, fd in self.fds.items()}
        for target, fd in high.items():
            os.dup2(fd, target)
