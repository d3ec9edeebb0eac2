"""Registry commands: pull, push, login, logout."""

from __future__ import annotations

import sys
import threading
from typing import Any

import click

from stdc.cli.group import cli, current_engine
from stdc.errors import BadInput


class PlainProgress:
    """Progress as plain lines, for logs and pipes: one line per blob when it is done."""

    def __init__(self, done_word: str, exists_word: str) -> None:
        self._lock = threading.Lock()
        self._started: set[str] = set()
        self._finished: set[str] = set()
        self._words = (done_word, exists_word)

    def __call__(self, what: str, done: int, total: int) -> None:
        from stdc.cli import formatting

        with self._lock:
            if done < total:
                self._started.add(what)
                return
            if what in self._finished:
                return
            self._finished.add(what)
            word = self._words[0] if what in self._started else self._words[1]
            click.echo(f"{what}: {word} ({formatting.size(total)})")

    def close(self) -> None:
        pass


class RichProgress:
    """A bar per blob on a terminal (rich is imported only here, when a terminal shows it)."""

    def __init__(self, done_word: str, exists_word: str) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[state]}"),
        )
        self._tasks: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._words = (done_word, exists_word)
        self._progress.start()

    def __call__(self, what: str, done: int, total: int) -> None:
        with self._lock:
            task = self._tasks.get(what)
            if task is None:
                state = self._words[1] if done >= total else ""
                task = self._tasks[what] = self._progress.add_task(what, total=total or None, state=state)
        state = self._words[0] if done >= total and self._progress.tasks[task].fields["state"] == "" else None
        if state:
            self._progress.update(task, completed=done, state=state)
        else:
            self._progress.update(task, completed=done)

    def close(self) -> None:
        self._progress.stop()


def _display(quiet: bool, done_word: str, exists_word: str) -> Any:
    if quiet:
        return None
    if sys.stdout.isatty():
        return RichProgress(done_word, exists_word)
    return PlainProgress(done_word, exists_word)


def tls_verify_option(command: Any) -> Any:
    """``--tls-verify[=BOOL]`` as podman and skopeo take it (absent: loopback and listed registries
    insecure, every other verified)."""
    return click.option(
        "--tls-verify",
        type=click.BOOL,
        is_flag=False,
        flag_value=True,
        default=None,
        metavar="[=BOOL]",
        help="Verify the registry's TLS certificate (false: accept any, or plain http).",
    )(command)


@cli.command()
@click.option(
    "--platform", metavar="OS/ARCH[/VARIANT]", help="Of a multi-platform image, this one (default: the host's)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress; print only the image's name.")
@tls_verify_option
@click.argument("reference")
def pull(platform: str | None, quiet: bool, tls_verify: bool | None, reference: str) -> None:
    """Pull an image from a registry (names without a host: the configured default registry, else
    docker.io) and tag it as written."""
    from stdc.engine import images

    engine = current_engine()
    display = _display(quiet, "Pull complete", "Already exists")
    try:
        image = images.pull(engine, reference, platform=platform, progress=display, tls_verify=tls_verify)
    finally:
        if display is not None:
            display.close()
    name = images.registry_name(engine, reference)
    if not quiet:
        click.echo(f"Digest: {image.manifest_digest}")
    click.echo(name)


@cli.command()
@click.option("-q", "--quiet", is_flag=True, help="No progress; print only the manifest digest.")
@tls_verify_option
@click.argument("reference")
def push(quiet: bool, tls_verify: bool | None, reference: str) -> None:
    """Push a local image to the registry its name says (tag it there first: stdc tag)."""
    from stdc.engine import images

    engine = current_engine()
    display = _display(quiet, "Pushed", "Layer already exists")
    try:
        digest = images.push(engine, reference, progress=display, tls_verify=tls_verify)
    finally:
        if display is not None:
            display.close()
    click.echo(digest if quiet else f"{images.registry_tag(engine, reference) or 'latest'}: digest: {digest}")


@cli.command()
@click.option("-u", "--username", metavar="NAME", help="User name.")
@click.option("-p", "--password", metavar="PASSWORD", help="Password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@tls_verify_option
@click.argument("registry", required=False)
def login(
    username: str | None, password: str | None, password_stdin: bool, tls_verify: bool | None, registry: str | None
) -> None:
    """Log in to a registry (default: the configured default registry, else docker.io); the
    credentials are stored as docker stores them ($DOCKER_CONFIG/config.json, mode 0600)."""
    from stdc.engine import registries

    engine = current_engine()
    registries.host(engine, registry)  # a bad name fails before any prompt
    if password_stdin:
        if password:
            raise BadInput("--password and --password-stdin exclude each other")
        password = sys.stdin.readline().rstrip("\r\n")
    if not username:
        if not sys.stdin.isatty():
            raise BadInput("a username is needed: -u NAME")
        username = click.prompt("Username")
    if not password:
        if not sys.stdin.isatty():
            raise BadInput("a password is needed: -p or --password-stdin")
        password = click.prompt("Password", hide_input=True)
    registries.login(engine, registry, username, password, tls_verify)
    click.echo("Login Succeeded")


@cli.command()
@tls_verify_option
@click.argument("registry", required=False)
def logout(tls_verify: bool | None, registry: str | None) -> None:
    """Forget the stored credentials of a registry."""
    from stdc.engine import registries

    host, was_logged_in = registries.logout(current_engine(), registry, tls_verify)
    if was_logged_in:
        click.echo(f"Removing login credentials for {host}")
    else:
        click.echo(f"Not logged in to {host}")
