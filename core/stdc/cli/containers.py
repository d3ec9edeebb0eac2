"""Container commands: run, create, start, stop, kill, wait, rm, ps, logs, inspect."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import click

from stdc.cli import CONTEXT, cli, current_engine
from stdc.cli.resources import resource_options, take_resource_options
from stdc.cli.volumes import volume_options
from stdc.errors import StdcError


def _run_options(f: Any) -> Any:
    options = [
        click.option("--name", help="A name for the container (unique)."),
        click.option("-e", "--env", "env", multiple=True, metavar="K=V", help="Set an environment variable."),
        click.option("-w", "--workdir", metavar="DIR", help="Working directory inside the container."),
        click.option("-u", "--user", metavar="UID[:GID]", help="User (number or name from the image) to run as."),
        click.option("--hostname", metavar="NAME", help="Hostname inside (default: the short id)."),
        click.option("--entrypoint", metavar="CMD", help="Override the image's entrypoint."),
        click.option("--rm", "auto_remove", is_flag=True, help="Remove the container when it exits."),
        click.option("--network", metavar="NAME", help="none, host, bridge or one from `stdc network create`."),
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
    from stdc.security.options import SECURITY_OPT_HELP

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


def _options(image: str, command: tuple[str, ...], **kw: Any) -> Any:
    from stdc.engine import RunOptions

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
    from stdc.cli import interactive

    engine = current_engine()
    # checked before anything is made; the attach code (~5 ms to load) only where it is used
    keys = interactive.parse_keys(detach_keys) if kw["tty"] or detach_keys else b""
    forwarder = None if detach else _SignalForwarder()
    container = engine.create(_options(image, command, **kw))
    if forwarder is None:
        engine.start_detached(container)
        click.echo(container.id)
        return
    if kw["tty"]:
        sys.exit(interactive.run_attached(engine, container, keys, forwarder))
    sys.exit(engine.run_foreground(container, forwarder))


@cli.command(context_settings={**CONTEXT, "allow_interspersed_args": False})
@_run_options
def create(image: str, command: tuple[str, ...], **kw: Any) -> None:
    """Create a container without starting it; print its id."""
    click.echo(current_engine().create(_options(image, command, **kw)).id)


class _SignalForwarder:
    """Foreground runs pass SIGINT, SIGTERM and SIGHUP on to the payload, as docker does.

    Installed before the container is created: a signal that arrives before the payload runs
    is held and passed on as soon as it does, instead of killing stdc half-way.
    """

    def __init__(self) -> None:
        import signal

        self.pending: list[int] = []
        self.forward: Any = None
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._received)

    def _received(self, signum: int, _frame: object) -> None:
        if self.forward is None:
            self.pending.append(signum)
        else:
            self.forward(signum)

    def __call__(self, forward: Any) -> None:
        """Called by the engine with the function that signals the running payload."""
        self.forward = forward
        for signum in self.pending:
            forward(signum)


@cli.command()
@click.option("-a", "--attach", is_flag=True, help="Stay attached: stream output, exit with its status.")
@click.argument("containers", nargs=-1, required=True)
def start(attach: bool, containers: tuple[str, ...]) -> None:
    """Start stopped containers (in the background unless -a)."""
    engine = current_engine()
    for ref in containers:
        c = engine.state.get(ref)
        engine.state.update(c.id, stopped_by_user=0)  # its restart policy applies again
        if attach:
            from stdc.cli import interactive

            if interactive.has_terminal(engine, c):
                sys.exit(interactive.run_attached(engine, c, interactive.parse_keys(None), _SignalForwarder()))
            sys.exit(engine.run_foreground(c, _SignalForwarder()))
        engine.start_detached(c)
        click.echo(ref)


@cli.command()
@click.option("-t", "--time", "timeout", default=10, show_default=True, help="Seconds before SIGKILL.")
@click.argument("containers", nargs=-1, required=True)
def stop(timeout: int, containers: tuple[str, ...]) -> None:
    """Stop containers: SIGTERM, then SIGKILL after --time seconds."""
    engine = current_engine()
    for ref in containers:
        engine.stop(engine.state.get(ref), timeout)
        click.echo(ref)


@cli.command()
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal name or number.")
@click.argument("containers", nargs=-1, required=True)
def kill(sig: str, containers: tuple[str, ...]) -> None:
    """Send a signal to containers' init process."""
    engine = current_engine()
    number = _signal_number(sig)
    for ref in containers:
        engine.kill(engine.state.get(ref), number)
        click.echo(ref)


def _signal_number(name: str) -> int:
    import signal

    if name.isdigit():
        return int(name)
    key = name.upper() if name.upper().startswith("SIG") else "SIG" + name.upper()
    try:
        return int(signal.Signals[key])
    except KeyError:
        raise StdcError(f"invalid signal: {name}") from None


@cli.command()
@click.argument("containers", nargs=-1, required=True)
def wait(containers: tuple[str, ...]) -> None:
    """Block until containers stop; print their exit codes."""
    engine = current_engine()
    for ref in containers:
        code = engine.wait(engine.state.get(ref))
        click.echo("unknown" if code is None else code)


@cli.command()
@click.option("-f", "--force", is_flag=True, help="Kill a running container first.")
@click.argument("containers", nargs=-1, required=True)
def rm(force: bool, containers: tuple[str, ...]) -> None:
    """Remove containers and everything they own."""
    engine = current_engine()
    for ref in containers:
        engine.remove(engine.state.get(ref), force=force)
        click.echo(ref)


@cli.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show stopped containers too.")
@click.option("-q", "--quiet", is_flag=True, help="Only ids.")
@click.option("--no-trunc", is_flag=True, help="Full ids and commands.")
def ps(all_: bool, quiet: bool, no_trunc: bool) -> None:
    """List containers."""
    from stdc import formatting

    containers = current_engine().containers(all=all_)
    if quiet:
        for c in containers:
            click.echo(c.id if no_trunc else c.short_id)
        return
    rows = [
        (
            c.id if no_trunc else c.short_id,
            c.image,
            formatting.command(c.config["args"], truncate=not no_trunc),
            formatting.ago(c.created),
            formatting.status(c),
            c.name,
        )
        for c in containers
    ]
    click.echo(formatting.table(("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"), rows))


@cli.command()
@click.option("-f", "--follow", is_flag=True, help="Keep following until the container exits.")
@click.option("--tail", default="all", show_default=True, help="Only the last N lines.")
@click.option("-t", "--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.argument("container")
def logs(follow: bool, tail: str, timestamps: bool, container: str) -> None:
    """Show a container's output (stdout to stdout, stderr to stderr)."""
    from stdc import logs as container_logs

    if tail != "all" and not tail.isdigit():
        raise StdcError(f"--tail takes a number or 'all', not {tail!r}")
    engine = current_engine()
    c = engine.state.get(container)
    container_logs.show(engine, c, follow=follow, tail=None if tail == "all" else int(tail), timestamps=timestamps)


@cli.command()
@click.argument("objects", nargs=-1, required=True)
def inspect(objects: tuple[str, ...]) -> None:
    """Show containers or images as JSON."""
    import json

    from stdc.errors import NotFound

    engine = current_engine()
    out = []
    for ref in objects:
        try:
            out.append(engine.describe(engine.refresh(engine.state.get(ref))))
        except NotFound:
            out.append(engine.describe_image(ref))
    click.echo(json.dumps(out, indent=4))


@cli.command("internal-cleanup", hidden=True)
@click.argument("container")
def internal_cleanup(container: str) -> None:
    """Run by a container's monitor once the payload has exited."""
    from stdc.errors import NotFound

    engine = current_engine()
    with contextlib.suppress(NotFound):  # removed meanwhile (rm -f)
        engine.finish(engine.state.get(container))
    from stdc import lifecycle

    lifecycle.after_exit(engine, container)  # the restart policy
