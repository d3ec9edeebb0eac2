"""Interactive commands: attach, exec — and the attached side of ``run -t`` and ``start -a``.

The relaying itself (raw terminal, window size, detach keys) is :mod:`stdc.attach`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from stdc.cli import CONTEXT, cli, current_engine
from stdc.errors import Conflict, StdcError


def parse_keys(value: str | None) -> bytes:
    from stdc import attach

    return attach.parse_detach_keys(attach.DEFAULT_DETACH_KEYS if value is None else value)


def has_terminal(engine: Any, c: Any) -> bool:
    """Whether the container's payload runs on a terminal (``-t``)."""
    import json

    with open(os.path.join(engine.bundle(c), "config.json")) as f:
        return bool(json.load(f).get("process", {}).get("terminal"))


def _size() -> tuple[int, int] | None:
    from stdc import attach

    return attach.terminal_size(0) or attach.terminal_size(1)


def run_attached(engine: Any, c: Any, keys: bytes, forwarder: Any) -> int:
    """Start a ``-t`` container with this terminal attached; its exit code, or 0 once detached."""
    from stdc import attach

    sock = engine.start_detached(c, attach=True, size=_size())

    def forward(sig: int) -> None:
        with contextlib.suppress(StdcError):
            engine.kill(c, sig)

    forwarder(forward)
    return _attached(engine, c, attach.MonitorChannel(sock), keys)


def _attached(engine: Any, c: Any, channel: Any, keys: bytes, stdin: bool = True) -> int:
    from stdc import attach

    try:
        how, code = attach.relay(
            channel,
            input_fd=0 if stdin and c.config.get("interactive") else None,
            tty=has_terminal(engine, c),
            detach_keys=keys,
        )
    finally:
        channel.close()
    if how == "detached":
        return 0
    engine.wait_monitor(c)  # its clean-up (--rm included) is done when we return
    if code is None:
        raise StdcError(f"the monitor of container {c.name} ended without telling the payload's exit")
    return code


@cli.command()
@click.option("--detach-keys", metavar="KEYS", help="Keys that detach (default ctrl-p,ctrl-q; '' for none).")
@click.option("--no-stdin", is_flag=True, help="Do not send our input, even to an -i container.")
@click.argument("container")
def attach(detach_keys: str | None, no_stdin: bool, container: str) -> None:
    """Attach this terminal to a running container's payload (started with -d).

    Its output from now on arrives here; with -i, what is typed goes to it; with -t, the terminal
    is its own (raw, same size) until ctrl-p ctrl-q detaches, leaving it running. Exits with the
    payload's status when it ends.
    """
    from stdc import attach as client

    engine = current_engine()
    keys = parse_keys(detach_keys)
    c = engine.refresh(engine.state.get(container))
    if not c.running:
        raise Conflict(f"container {c.name} is not running: start it first")
    sock = client.connect(engine.bundle(c))
    if sock is None:
        raise Conflict(f"container {c.name} has no monitor to attach to (it runs attached to another stdc)")
    sys.exit(_attached(engine, c, client.MonitorChannel(sock), keys, stdin=not no_stdin))


@cli.command("exec", context_settings={**CONTEXT, "allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run it in the background.")
@click.option("-i", "--interactive", is_flag=True, help="Pass our stdin on.")
@click.option("-t", "--tty", is_flag=True, help="Give it a terminal (ours goes raw meanwhile).")
@click.option("-e", "--env", "env", multiple=True, metavar="K=V", help="Set an environment variable.")
@click.option("-u", "--user", metavar="UID[:GID]", help="User (number or name from the image) to run as.")
@click.option("-w", "--workdir", metavar="DIR", help="Working directory (absolute).")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def exec_(
    detach: bool,
    interactive: bool,
    tty: bool,
    env: tuple[str, ...],
    user: str | None,
    workdir: str | None,
    container: str,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND in a running container: its namespaces, cgroups, user and capabilities.

    Exits with COMMAND's status (126: not executable, 127: not found, 125: stdc failed).
    """
    from stdc import attach
    from stdc.cli.containers import _SignalForwarder

    engine = current_engine()
    c = engine.state.get(container)
    forwarder = None if detach else _SignalForwarder()
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    master = None
    if detach:
        stdio = (null, null, null)
    elif tty:
        master, slave = os.openpty()
        size = _size()
        if size:
            attach.set_size(master, *size)
        stdio = (slave, slave, slave)
    else:
        stdio = (0 if interactive else null, 1, 2)
    options = {"env": list(env), "user": user, "workdir": workdir, "tty": tty and not detach}
    try:
        pid = engine.exec(c, list(command), stdio=stdio, **options)
    finally:
        os.close(null)
        if master is not None:
            os.close(stdio[0])
    if forwarder is None:
        return

    def forward(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    forwarder(forward)
    if master is not None:
        channel = attach.PtyChannel(master)
        try:
            attach.relay(channel, input_fd=0 if interactive else None, tty=True)
        finally:
            channel.close()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(128 - code if code < 0 else code)
