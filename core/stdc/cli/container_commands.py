"""Container commands: run, create, start, stop, kill, wait, rm, logs (ps and inspect live in
:mod:`stdc.cli.listing_commands`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from stdc.cli.group import CONTEXT, cli, current_engine, each_container, for_each
from stdc.cli.resource_commands import resource_options, take_resource_options
from stdc.cli.signals import SignalForwarder
from stdc.cli.volume_commands import volume_options

if TYPE_CHECKING:
    from stdc.engine.options import RunOptions


def _run_options(f: Any) -> Any:
    options = [
        click.option("--name", help="A name for the container (unique)."),
        click.option("-e", "--env", "env", multiple=True, metavar="K=V", help="Set an environment variable."),
        click.option("-w", "--workdir", metavar="DIR", help="Working directory inside the container."),
        click.option("-u", "--user", metavar="UID[:GID]", help="User (number or name from the image) to run as."),
        click.option("--hostname", metavar="NAME", help="Hostname inside (default: the short id)."),
        click.option("--entrypoint", metavar="CMD", help="Override the image's entrypoint."),
        click.option("--rm", "auto_remove", is_flag=True, help="Remove the container when it exits."),
        click.option("--network", metavar="NAME", help="bridge (default), none, host or one from `network create`."),
        click.option(
            "-p",
            "--publish",
            multiple=True,
            metavar="[IP:][HOSTPORT:]PORT[/PROTO]",
            help="Publish a container's port on the host (HOSTPORT left out: any free one).",
        ),
        click.option("-P", "--publish-all", is_flag=True, help="Publish every exposed port on a free host port."),
        click.option("--expose", multiple=True, metavar="PORT[/PROTO]", help="Expose a port (for -P)."),
        *volume_options(),
        *_security_options(),
        click.option(
            "--userns",
            type=click.Choice(["host", "auto"]),
            help="auto: map the container's root to a free unprivileged host range of 65536 ids of its "
            "own; host: the host's ids (default, unless [security] userns_remap is set). See `stdc info`.",
        ),
        click.option(
            "--device",
            "devices",
            multiple=True,
            metavar="HOST[:CONT[:rwm]]",
            help="Give the container a host device (node and access; r, w, m limit it). Others are refused.",
        ),
        click.option("-i", "--interactive", is_flag=True, help="Keep the payload's stdin open: ours, or attach's."),
        click.option("-t", "--tty", is_flag=True, help="Give the payload a terminal (stdc's own goes raw meanwhile)."),
        click.argument("image"),
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    f = resource_options(f)  # listed after the options above
    for option in reversed(options):
        f = option(f)
    return f


def _security_options() -> list[Any]:
    from stdc.security.settings import SECURITY_OPT_HELP

    return [
        click.option(
            "--cap-add", multiple=True, metavar="CAP", help="Add a capability (NET_ADMIN or CAP_NET_ADMIN; ALL)."
        ),
        click.option("--cap-drop", multiple=True, metavar="CAP", help="Drop a capability (ALL: every one)."),
        click.option(
            "--privileged",
            is_flag=True,
            help="DANGEROUS: give the container every capability, access to every device, writable /proc and /sys, "
            "no seccomp filter and no no_new_privs: root inside is root on the host.",
        ),
        click.option(
            "--security-opt",
            multiple=True,
            metavar="OPT",
            help=f"{SECURITY_OPT_HELP}. Default: stdc's seccomp profile (docker's, and no AF_ALG sockets) "
            "and no-new-privileges=true (docker's default is false).",
        ),
    ]


def run_options_from(image: str, command: tuple[str, ...], **kw: Any) -> RunOptions:
    """The options of ``run``/``create`` as click parsed them, as the engine's :class:`RunOptions`."""
    from stdc.engine.options import RunOptions

    lists = {
        key: list(kw.pop(key))
        for key in ("env", "publish", "expose", "volumes", "tmpfs", "cap_add", "cap_drop", "security_opt", "devices")
    }
    limits = take_resource_options(kw)
    return RunOptions(image=image, command=list(command), **lists, **limits, **kw)


@cli.command(context_settings={**CONTEXT, "allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run in the background; print the container id.")
@click.option("--detach-keys", metavar="KEYS", help="Keys that detach from a -t run (default ctrl-p,ctrl-q).")
@_run_options
def run(detach: bool, detach_keys: str | None, image: str, command: tuple[str, ...], **kw: Any) -> None:
    """Create a container from IMAGE and run COMMAND in it.

    In the foreground, the payload's stdout and stderr arrive on stdout and stderr, live, and its
    exit status becomes stdc's (127: command not found, 126: not executable, 125: stdc failed).
    -i passes stdin on (end of input included); -t gives the payload a terminal whose size follows
    ours, and ctrl-p ctrl-q (--detach-keys) leaves it running (`stdc attach` to come back).
    """
    from stdc.cli import interactive_commands
    from stdc.engine import containers

    engine = current_engine()
    # checked before anything is made; the attach code (~5 ms to load) only where it is used
    keys = interactive_commands.parse_keys(detach_keys) if kw["tty"] or detach_keys else b""
    forwarder = None if detach else SignalForwarder()
    container = containers.create(engine, run_options_from(image, command, **kw))
    if forwarder is None:
        containers.start(engine, container.id)
        click.echo(container.id)
        return
    if kw["tty"]:
        sys.exit(interactive_commands.run_attached(engine, container.id, keys, forwarder))
    sys.exit(containers.run(engine, container.id, forwarder))


@cli.command(context_settings={**CONTEXT, "allow_interspersed_args": False})
@_run_options
def create(image: str, command: tuple[str, ...], **kw: Any) -> None:
    """Create a container without starting it; print its id."""
    from stdc.engine import containers

    click.echo(containers.create(current_engine(), run_options_from(image, command, **kw)).id)


@cli.command()
@click.option("-a", "--attach", is_flag=True, help="Stay attached: stream output, exit with its status.")
@click.argument("containers", nargs=-1, required=True)
def start(attach: bool, containers: tuple[str, ...]) -> None:
    """Start stopped containers (in the background unless -a)."""
    from stdc.engine import containers as verbs

    engine = current_engine()
    if attach:
        from stdc.cli import interactive_commands

        ref = containers[0]  # docker: one container with -a
        if verbs.has_terminal(engine, ref):
            keys = interactive_commands.parse_keys(None)
            sys.exit(interactive_commands.run_attached(engine, ref, keys, SignalForwarder()))
        sys.exit(verbs.run(engine, ref, SignalForwarder()))
    each_container(containers, verbs.start)


@cli.command()
@click.option("-t", "--time", "timeout", default=10, show_default=True, help="Seconds before SIGKILL.")
@click.argument("containers", nargs=-1, required=True)
def stop(timeout: int, containers: tuple[str, ...]) -> None:
    """Stop containers: SIGTERM, then SIGKILL after --time seconds."""
    from stdc.engine import containers as verbs

    each_container(containers, verbs.stop, timeout)


@cli.command()
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal name or number.")
@click.argument("containers", nargs=-1, required=True)
def kill(sig: str, containers: tuple[str, ...]) -> None:
    """Send a signal to containers' init process."""
    from stdc.engine import containers as verbs
    from stdc.engine.options import signal_number

    each_container(containers, verbs.kill, signal_number(sig))


@cli.command()
@click.argument("containers", nargs=-1, required=True)
def wait(containers: tuple[str, ...]) -> None:
    """Block until containers stop; print their exit codes."""
    from stdc.engine import containers as verbs

    engine = current_engine()

    def wait_one(ref: str) -> None:
        code = verbs.wait(engine, ref)
        click.echo("unknown" if code is None else code)

    for_each(containers, wait_one)


@cli.command()
@click.option("-f", "--force", is_flag=True, help="Kill a running container first.")
@click.argument("containers", nargs=-1, required=True)
def rm(force: bool, containers: tuple[str, ...]) -> None:
    """Remove containers and everything they own."""
    from stdc.engine import containers as verbs

    each_container(containers, verbs.remove, force)


@cli.command()
@click.option("-f", "--follow", is_flag=True, help="Keep following until the container exits.")
@click.option("--tail", default="all", show_default=True, help="Only the last N lines.")
@click.option("-t", "--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.option("--since", metavar="TIME", help="Only output since TIME (RFC 3339, unix timestamp, or a duration: 10m).")
@click.option("--until", metavar="TIME", help="Only output before TIME (same forms).")
@click.argument("container")
def logs(follow: bool, tail: str, timestamps: bool, since: str | None, until: str | None, container: str) -> None:
    """Show a container's output (stdout to stdout, stderr to stderr)."""
    from stdc.engine import logs as container_logs
    from stdc.engine.docker_shapes import parse_time
    from stdc.engine.options import parse_tail

    opts = container_logs.LogOptions(follow=follow, tail=parse_tail(tail), timestamps=timestamps)
    opts.since = parse_time(since) if since else None
    opts.until = parse_time(until) if until else None
    for entry in container_logs.entries(current_engine(), container, opts):
        stream = sys.stderr if entry.stream == "stderr" else sys.stdout
        stream.write(f"{entry.time} {entry.text}" if timestamps else entry.text)
        stream.flush()


@cli.command("internal-cleanup", hidden=True)
@click.argument("container")
def internal_cleanup(container: str) -> None:
    """Run by a container's monitor once the payload has exited."""
    from stdc.engine import containers as verbs

    verbs.after_exit(current_engine(), container)
