"""``stdc daemon``: the warm engine every ``stdc`` command hands itself to (see stdc.daemon)."""

from __future__ import annotations

import click

from stdc.cli.group import cli


@cli.command()
@click.option(
    "--socket", "path", metavar="PATH", help="Where to listen (default /run/stdc/daemon.sock; env STDC_DAEMON_SOCKET)."
)
def daemon(path: str | None) -> None:
    """Keep the engine warm: stdc commands then start in milliseconds.

    Runs in the foreground until SIGTERM or ^C; run it in the background or under systemd.
    Containers keep running when it stops. Restart it after upgrading stdc or a plugin.
    """
    from stdc.cli.group import run_commands
    from stdc.daemon import protocol, server

    server.serve(path or protocol.socket_path(), run=run_commands)  # every command is loaded: this is one
