"""``exec``: another process in a running container — its namespaces, cgroups, user and
capabilities, as its own process settings say unless the options change them.

:func:`start` wires the process to this process's stdio (or to a new pseudo-terminal with
``tty``, or to /dev/null when detached) and returns an :class:`Exec`: the front end relays
the terminal (:attr:`Exec.terminal`) and forwards signals, and :meth:`Exec.wait` gives the exit
code as a shell would (128 + N for a signal).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stdc.engine.options import merge_env, parse_user, with_terminal_env
from stdc.errors import BadInput, Conflict

if TYPE_CHECKING:
    from stdc.engine.context import Engine

__all__ = ["Exec", "ExecOptions", "start"]


@dataclass
class ExecOptions:
    """What ``stdc exec`` was asked for: the command and what changes from the container's process."""

    command: list[str]
    env: list[str] = field(default_factory=list)
    user: str | None = None
    workdir: str | None = None
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    size: tuple[int, int] | None = None  # the terminal's rows and columns, with ``tty``
    #: without ``tty``: the process's stdin, stdout and stderr (a front end's pipes), not ours
    stdio: tuple[int, int, int] | None = None


@dataclass
class Exec:
    """A process started by :func:`start`, a child of this process."""

    pid: int
    terminal: int | None  # the master of its pseudo-terminal, with ``tty``

    def signal(self, sig: int) -> None:
        """Pass ``sig`` on to the process (nothing once it has exited)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def wait(self) -> int:
        """Wait for the process; its exit code (128 + N when signal N ended it)."""
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code


def start(engine: Engine, ref: str, opts: ExecOptions) -> Exec:
    """Start ``opts.command`` in the running container ``ref``."""
    c = engine.container(ref)
    if not c.running:
        raise Conflict(f"container {c.name} is not running")
    if not opts.command:
        raise BadInput("exec needs a command")
    if opts.workdir is not None and not opts.workdir.startswith("/"):
        raise BadInput(f"the working directory {opts.workdir!r} is not an absolute path")
    tty = opts.tty and not opts.detach
    spec, _ = engine.run_files(c)
    process = dict(spec["process"], args=list(opts.command), terminal=tty)
    process["env"] = with_terminal_env(merge_env(list(process.get("env") or []), opts.env), tty)
    if opts.user is not None:
        process["user"] = parse_user(opts.user)
    if opts.workdir is not None:
        process["cwd"] = opts.workdir
    if tty and opts.size:
        process["consoleSize"] = {"height": opts.size[0], "width": opts.size[1]}
    executor = engine.backend("exec", c.backends["exec"])
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    terminal = None
    if opts.detach:
        stdio = (null, null, null)
    elif tty:
        from stdc.engine.consoles import Terminal

        terminal = Terminal(executor, "exec_exec", null, opts.size)
        stdio = terminal.stdio
    elif opts.stdio is not None:
        stdio = opts.stdio
    else:
        stdio = (0 if opts.interactive else null, 1, 2)
    try:
        pid = executor.hook.exec_exec(
            container_id=c.id,
            bundle=engine.bundle(c),
            spec=spec,
            pid=c.pid,
            process=process,
            stdio=stdio,
            console_socket=terminal and terminal.console_socket,
        )
        started = Exec(pid, None)
        if terminal is not None:
            try:
                started.terminal = terminal.master()
            except BaseException:
                started.signal(9)  # no process left running without its terminal
                started.wait()
                raise
        return started
    finally:
        os.close(null)
        if terminal is not None:
            terminal.close()
