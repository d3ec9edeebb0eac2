"""The ``stdc`` command line: parse, call the engine, print. Errors are one line, never a traceback
(set ``STDC_DEBUG=1`` to see one)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

import click

from stdc import __version__
from stdc.errors import StdcError

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Obj:
    """Per-invocation state: the flags, and the engine built from them on first use."""

    def __init__(self, root: str | None, backends: dict[str, str | None]) -> None:
        self.root = root
        self.backends = backends
        self._engine: Any = None

    @property
    def engine(self) -> Any:
        if self._engine is None:
            from stdc import config
            from stdc.engine import Engine

            self._engine = Engine(config.load(root=self.root, backends=self.backends))
        return self._engine


def _engine() -> Any:
    return click.get_current_context().find_object(_Obj).engine


@click.group(context_settings=_CONTEXT)
@click.option("--root", metavar="DIR", help="Where images and containers live (default /var/lib/stdc; env STDC_ROOT).")
@click.option("--storage", metavar="NAME", help="Storage driver (env STDC_STORAGE; see `stdc plugins`).")
@click.option("--exec", "exec_", metavar="NAME", help="Executor (env STDC_EXEC).")
@click.option("--net", metavar="NAME", help="Network provider: none, host or a plugin (env STDC_NET).")
@click.version_option(version=__version__, prog_name="stdc")
@click.pass_context
def cli(ctx: click.Context, root: str | None, storage: str | None, exec_: str | None, net: str | None) -> None:
    """stdc — Standard Containers: run any payload in an isolated container built from layered,
    copy-on-write images. Every backend is a plugin, chosen by flag, environment or
    /etc/stdc/config.toml ([backends] storage/exec/net).

    \b
    Examples:
      stdc run base /bin/echo hello
      stdc run -d --name web base httpd -f -p 8080
      stdc --storage overlay --exec native logs -f web
    """
    ctx.obj = _Obj(root, {"storage": storage, "exec": exec_, "net": net})


# -- containers -------------------------------------------------------------------------------


def _run_options(f: Any) -> Any:
    options = [
        click.option("--name", help="A name for the container (unique)."),
        click.option("-e", "--env", "env", multiple=True, metavar="K=V", help="Set an environment variable."),
        click.option("-w", "--workdir", metavar="DIR", help="Working directory inside the container."),
        click.option("-u", "--user", metavar="UID[:GID]", help="User (number or name from the image) to run as."),
        click.option("--hostname", metavar="NAME", help="Hostname inside (default: the short id)."),
        click.option("--entrypoint", metavar="CMD", help="Override the image's entrypoint."),
        click.option("--rm", "auto_remove", is_flag=True, help="Remove the container when it exits."),
        click.argument("image"),
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _options(image: str, command: tuple[str, ...], **kw: Any) -> Any:
    from stdc.engine import RunOptions

    return RunOptions(image=image, command=list(command), env=list(kw.pop("env")), **kw)


@cli.command(context_settings={**_CONTEXT, "allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run in the background; print the container id.")
@_run_options
def run(detach: bool, image: str, command: tuple[str, ...], **kw: Any) -> None:
    """Create a container from IMAGE and run COMMAND in it.

    In the foreground, the payload's stdout and stderr arrive on stdout and stderr, live, and its
    exit status becomes stdc's (127: command not found, 126: not executable, 125: stdc failed).
    """
    engine = _engine()
    container = engine.create(_options(image, command, **kw))
    if detach:
        engine.start_detached(container)
        click.echo(container.id)
        return
    sys.exit(engine.run_foreground(container, _forward_signals))


@cli.command(context_settings={**_CONTEXT, "allow_interspersed_args": False})
@_run_options
def create(image: str, command: tuple[str, ...], **kw: Any) -> None:
    """Create a container without starting it; print its id."""
    click.echo(_engine().create(_options(image, command, **kw)).id)


def _forward_signals(forward: Any) -> None:
    """Foreground runs pass SIGINT, SIGTERM and SIGHUP on to the payload, as docker does."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: forward(signum))


@cli.command()
@click.option("-a", "--attach", is_flag=True, help="Stay attached: stream output, exit with its status.")
@click.argument("containers", nargs=-1, required=True)
def start(attach: bool, containers: tuple[str, ...]) -> None:
    """Start stopped containers (in the background unless -a)."""
    engine = _engine()
    for ref in containers:
        c = engine.state.get(ref)
        if attach:
            sys.exit(engine.run_foreground(c, _forward_signals))
        engine.start_detached(c)
        click.echo(ref)


@cli.command()
@click.option("-t", "--time", "timeout", default=10, show_default=True, help="Seconds before SIGKILL.")
@click.argument("containers", nargs=-1, required=True)
def stop(timeout: int, containers: tuple[str, ...]) -> None:
    """Stop containers: SIGTERM, then SIGKILL after --time seconds."""
    engine = _engine()
    for ref in containers:
        engine.stop(engine.state.get(ref), timeout)
        click.echo(ref)


@cli.command()
@click.option("-s", "--signal", "sig", default="KILL", show_default=True, help="Signal name or number.")
@click.argument("containers", nargs=-1, required=True)
def kill(sig: str, containers: tuple[str, ...]) -> None:
    """Send a signal to containers' init process."""
    engine = _engine()
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
    engine = _engine()
    for ref in containers:
        code = engine.wait(engine.state.get(ref))
        click.echo("unknown" if code is None else code)


@cli.command()
@click.option("-f", "--force", is_flag=True, help="Kill a running container first.")
@click.argument("containers", nargs=-1, required=True)
def rm(force: bool, containers: tuple[str, ...]) -> None:
    """Remove containers and everything they own."""
    engine = _engine()
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

    containers = _engine().containers(all=all_)
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
    engine = _engine()
    c = engine.state.get(container)
    container_logs.show(engine, c, follow=follow, tail=None if tail == "all" else int(tail), timestamps=timestamps)


@cli.command()
@click.argument("objects", nargs=-1, required=True)
def inspect(objects: tuple[str, ...]) -> None:
    """Show containers or images as JSON."""
    import json

    from stdc.errors import NotFound

    engine = _engine()
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

    engine = _engine()
    with contextlib.suppress(NotFound):  # removed meanwhile (rm -f)
        engine.finish(engine.state.get(container))


# -- images -----------------------------------------------------------------------------------


@cli.command()
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
def images(quiet: bool) -> None:
    """List images."""
    from stdc import formatting

    found = _engine().store.list_images()
    if quiet:
        for _ref, image in found:
            click.echo(image.id.split(":")[1][:12])
        return
    rows = []
    for ref, image in found:
        name, _, tag = str(ref).rpartition(":")
        rows.append(
            (name, tag, image.id.split(":")[1][:12], formatting.ago(image.created_ts), formatting.size(image.size))
        )
    click.echo(formatting.table(("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"), rows))


@cli.command("import")
@click.option("-c", "--change", "changes", multiple=True, metavar="'CMD …'", help="Set CMD/ENV/WORKDIR/ENTRYPOINT.")
@click.argument("tarball")
@click.argument("reference")
def import_(changes: tuple[str, ...], tarball: str, reference: str) -> None:
    """Make a one-layer image from a root filesystem tarball (- reads stdin)."""
    from stdc.images.importer import import_tarball

    engine = _engine()
    source = sys.stdin.buffer if tarball == "-" else tarball
    if tarball != "-" and not os.path.isfile(tarball):
        raise StdcError(f"{tarball}: no such file")
    image = import_tarball(engine.store, source, reference, changes=list(changes) or None)
    engine.emit("stdc_image_added", reference=reference, digest=image.manifest_digest, how="import")
    click.echo(image.id)


@cli.command()
@click.argument("source")
@click.argument("target")
def tag(source: str, target: str) -> None:
    """Give the image SOURCE the additional name TARGET."""
    _engine().store.tag(source, target)


@cli.command()
@click.option("-f", "--force", is_flag=True, help="Remove even if containers use it.")
@click.argument("images", nargs=-1, required=True)
def rmi(force: bool, images: tuple[str, ...]) -> None:
    """Remove images (refused while a container uses one, unless -f)."""
    engine = _engine()
    for ref in images:
        click.echo(engine.remove_image(ref, force=force))


# -- backends ---------------------------------------------------------------------------------


@cli.command()
def plugins() -> None:
    """List every installed backend: kind, name, distribution, version, usable here or why not."""
    from stdc import formatting
    from stdc import plugins as registry

    engine = _engine()
    rows = []
    for p in registry.list_installed(engine.home):
        usable = "yes" if p.problem is None else f"not usable ({p.problem})"
        chosen = "*" if engine.config.backends.get(p.kind) == p.name else ""
        rows.append((p.kind, p.name + chosen, p.distribution, p.version, usable))
    click.echo(formatting.table(("KIND", "NAME", "DISTRIBUTION", "VERSION", "USABLE"), rows))
    click.echo("(* = selected)")


def main() -> None:
    """Entry point: run the CLI with one-line errors."""
    try:
        cli.main(standalone_mode=False, prog_name="stdc")
    except StdcError as e:
        click.echo(f"stdc: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("stdc: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code if e.exit_code != 1 else 125)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as e:
        if os.environ.get("STDC_DEBUG"):
            raise
        click.echo(f"stdc: {e.strerror or e}{': ' + str(e.filename) if e.filename else ''}", err=True)
        sys.exit(125)
    except Exception as e:  # noqa: BLE001 - a traceback is not an error message
        if os.environ.get("STDC_DEBUG"):
            raise
        click.echo(f"stdc: internal error: {type(e).__name__}: {e} (STDC_DEBUG=1 shows the traceback)", err=True)
        sys.exit(125)


if __name__ == "__main__":
    main()
