"""``stdc daemon``: the warm engine every ``stdc`` command hands itself to (see stdc.daemon), and
beside it the Docker Engine API (see stdc.dockerapi) in a process of its own."""

from __future__ import annotations

import signal

import click

from stdc.cli.group import cli


@cli.command()
@click.option(
    "--socket", "path", metavar="PATH", help="Where to listen (default /run/stdc/daemon.sock; env STDC_DAEMON_SOCKET)."
)
@click.option(
    "--api-socket",
    metavar="PATH",
    help="The Docker API's unix socket (default RUNTIME_DIR/docker.sock, i.e. /run/stdc/docker.sock).",
)
@click.option("--no-api", is_flag=True, help="Serve no Docker API, only the warm engine.")
@click.option(
    "-G", "--group", metavar="GROUP", help="Group given the Docker API's socket (0660); default: root's alone (0600)."
)
@click.option(
    "-H", "--host", "hosts", multiple=True, metavar="tcp://HOST:PORT",
    help="Also serve the Docker API on TCP: off loopback only with --tlsverify.",
)  # fmt: skip
@click.option("--tlsverify", is_flag=True, help="Require clients' certificates signed by --tlscacert (TCP).")
@click.option("--tlscacert", metavar="FILE", help="CA certificate clients' certificates must be signed by.")
@click.option("--tlscert", metavar="FILE", help="The server's certificate.")
@click.option("--tlskey", metavar="FILE", help="The server's key.")
def daemon(
    path: str | None,
    api_socket: str | None,
    no_api: bool,
    group: str | None,
    hosts: tuple[str, ...],
    tlsverify: bool,
    tlscacert: str | None,
    tlscert: str | None,
    tlskey: str | None,
) -> None:
    """Keep the engine warm (stdc commands then start in milliseconds) and serve the Docker API.

    Runs in the foreground until SIGTERM or ^C; run it in the background or under systemd.
    Containers keep running when it stops. Restart it after upgrading stdc or a plugin. The
    Docker API: DOCKER_HOST=unix:///run/stdc/docker.sock docker ps.
    """
    from stdc import config
    from stdc.cli.group import run_commands
    from stdc.daemon import protocol, server
    from stdc.errors import BadInput

    api = None
    # Until serve() takes SIGTERM/SIGINT over, they end this process through the finally below,
    # which stops the forked API server too (the default action would leave it running).
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupted)
    try:
        if not no_api:
            from stdc.dockerapi import listeners

            tls = None
            if tlsverify:
                if not (tlscacert and tlscert and tlskey):
                    raise BadInput("--tlsverify needs --tlscacert, --tlscert and --tlskey")
                tls = listeners.TlsFiles(tlscacert, tlscert, tlskey)
            settings = config.load()
            group = group or (settings.host.get("api") or {}).get("group")
            socket_path = api_socket or listeners.default_socket(settings.runtime_dir)
            api = listeners.fork_server(socket_path, group, list(hosts), tls)
        server.serve(path or protocol.socket_path(), run=run_commands)  # every command is loaded: this is one
    except _Stopped:
        pass
    finally:
        if api is not None:
            listeners.stop_server(api)


class _Stopped(Exception):
    """SIGTERM or SIGINT before the server's own handlers were in place."""


def _interrupted(_signum: int, _frame: object) -> None:
    raise _Stopped
