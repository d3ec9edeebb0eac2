"""The ``stdc`` group: its global flags, the engine each invocation builds from them, and what
every area's commands share (:func:`current_engine`, :func:`unknown_exits_1`, :data:`CONTEXT`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import click

from stdc import __version__
from stdc.errors import NotFound, StdcError

if TYPE_CHECKING:
    from stdc.engine import Engine

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Invocation:
    """Per-invocation state: the flags, and the engine built from them on first use."""

    def __init__(self, root: str | None, backends: dict[str, str | None]) -> None:
        self.root = root
        self.backends = backends
        self._engine: Engine | None = None
        #: whether building the engine reconciles what a killed command left (see stdc.engine.reconcile)
        self.reconcile_first = True

    @property
    def engine(self) -> Engine:
        """The engine of this invocation's root and backends."""
        if self._engine is None:
            from stdc import config
            from stdc.engine import Engine, reconcile

            self._engine = Engine(config.load(root=self.root, backends=self.backends))
            if self.reconcile_first:
                reconcile.quick(self._engine)  # what a command killed before this one left
        return self._engine


def current_engine() -> Engine:
    """The engine of this invocation, built from its flags on first use."""
    return click.get_current_context().find_object(Invocation).engine


def engine_as_found() -> Engine:
    """The engine of this invocation, built without reconciling first: for ``system check``,
    which reports what it finds."""
    invocation = click.get_current_context().find_object(Invocation)
    invocation.reconcile_first = False
    return invocation.engine


@contextlib.contextmanager
def unknown_exits_1() -> Iterator[None]:
    """An unknown container exits 1 inside this block, as docker's daemon errors do."""
    try:
        yield
    except NotFound as e:
        e.exit_code = 1
        raise


def each_container(refs: tuple[str, ...], verb: Callable[..., object], *args: object) -> None:
    """Call ``verb(engine, ref, *args)`` for every container named, printing each name once done
    (see :func:`for_each`: a failure does not stop the others, and exits 1)."""
    engine = current_engine()

    def act(ref: str) -> None:
        verb(engine, ref, *args)
        click.echo(ref)

    for_each(refs, act)


def for_each(refs: Iterable[str], act: Callable[[str], object]) -> None:
    """``act(ref)`` for every ref, as docker's ``rm a b c``: each failure is one line on stderr,
    the others still happen, and the command exits 1 if any failed."""
    failed = False
    for ref in refs:
        try:
            act(ref)
        except StdcError as e:
            click.echo(f"stdc: {e}", err=True)
            failed = True
    if failed:
        sys.exit(1)


@click.group(context_settings=CONTEXT)
@click.option("--root", metavar="DIR", help="Where images and containers live (default /var/lib/stdc; env STDC_ROOT).")
@click.option("--storage", metavar="NAME", help="Storage driver (env STDC_STORAGE; see `stdc plugins`).")
@click.option("--exec", "exec_", metavar="NAME", help="Executor (env STDC_EXEC).")
@click.option("--net", metavar="NAME", help="Network provider: none, host or a plugin (default bridge; env STDC_NET).")
@click.option("--registry", metavar="NAME", help="Registry backend (env STDC_REGISTRY).")
@click.version_option(version=__version__, prog_name="stdc")
@click.pass_context
def cli(
    ctx: click.Context, root: str | None, storage: str | None, exec_: str | None, net: str | None, registry: str | None
) -> None:
    """stdc — Standard Containers: run any payload in an isolated container built from layered,
    copy-on-write images. Every backend is a plugin, chosen by flag, environment or
    /etc/stdc/config.toml ([backends] storage/exec/net).

    \b
    Examples:
      stdc run base /bin/echo hello
      stdc run -d --name web base httpd -f -p 8080
      stdc --storage overlay --exec native logs -f web
    """
    ctx.obj = Invocation(root, {"storage": storage, "exec": exec_, "net": net, "registry": registry})


def run_commands() -> None:
    """Run the command line of this process (``sys.argv``) with one-line errors; the areas' commands
    must be loaded (:func:`stdc.cli.load_commands`)."""
    try:
        cli.main(standalone_mode=False, prog_name="stdc")
    except StdcError as e:
        click.echo(f"stdc: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("stdc: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:  # a usage error (unknown flag, missing argument, bad value)
        e.show()
        sys.exit(125)  # docker's status for every error of the command line, where click says 2
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `stdc export c | head`: the reader has what it wanted; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error flushing stdout at exit
        sys.exit(141)  # a shell's status for a program ended by SIGPIPE, as docker's is
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
    finally:
        reconcile = sys.modules.get("stdc.engine.reconcile")  # loaded when the command built an engine
        if reconcile is not None:
            reconcile.done()
