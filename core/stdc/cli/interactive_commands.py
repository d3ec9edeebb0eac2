"""Interactive commands: attach, exec — and the attached side of ``run -t`` and ``start -a``.

Only the terminal is handled here (raw mode, window size, detach keys: :mod:`stdc.attach`);
starting, connecting and the exit code are the engine's (:mod:`stdc.engine.containers`,
:mod:`stdc.engine.execs`).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

import click

from stdc.cli.group import CONTEXT, cli, current_engine
from stdc.cli.signals import SignalForwarder
from stdc.errors import StdcError

if TYPE_CHECKING:
    from stdc.engine import Engine
    from stdc.engine.containers import Attachment


def parse_keys(value: str | None) -> bytes:
    """``--detach-keys`` as the bytes that detach (the default when not given)."""
    from stdc import attach

    return attach.parse_detach_keys(attach.DEFAULT_DETACH_KEYS if value is None else value)


def _size() -> tuple[int, int] | None:
    from stdc import attach

    return attach.terminal_size(0) or attach.terminal_size(1)


def run_attached(engine: Engine, ref: str, keys: bytes, forwarder: SignalForwarder) -> int:
    """Start a ``-t`` container with this terminal attached; its exit code, or 0 once detached."""
    from stdc.engine import containers

    attachment = containers.start_attached(engine, ref, size=_size())
    container_id = attachment.container.id

    def forward(sig: int) -> None:
        with contextlib.suppress(StdcError):
            containers.kill(engine, container_id, sig)

    forwarder(forward)
    return _relay(attachment, keys)


def _relay(attachment: Attachment, keys: bytes, stdin: bool = True) -> int:
    from stdc import attach
    from stdc.engine import containers

    channel = attach.MonitorChannel(attachment.socket)
    try:
        how, code = attach.relay(
            channel,
            input_fd=0 if stdin and attachment.interactive else None,
            tty=attachment.terminal,
            detach_keys=keys,
        )
    finally:
        channel.close()
    if how == "detached":
        return 0
    return containers.attachment_ended(attachment, code)


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
    from stdc.engine import containers

    keys = parse_keys(detach_keys)
    attachment = containers.attach(current_engine(), container)
    sys.exit(_relay(attachment, keys, stdin=not no_stdin))


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
    from stdc.engine import execs

    forwarder = None if detach else SignalForwarder()
    opts = execs.ExecOptions(
        command=list(command),
        env=list(env),
        user=user,
        workdir=workdir,
        detach=detach,
        interactive=interactive,
        tty=tty,
        size=_size() if tty and not detach else None,
    )
    process = execs.start(current_engine(), container, opts)
    if forwarder is None:
        return
    forwarder(process.signal)
    if process.terminal is not None:
        from stdc import attach

        channel = attach.PtyChannel(process.terminal)
        try:
            attach.relay(channel, input_fd=0 if interactive else None, tty=True)
        finally:
            channel.close()
    sys.exit(process.wait())
