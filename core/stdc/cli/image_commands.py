"""Image commands: import, tag, rmi (images: :mod:`stdc.cli.listing_commands`)."""

from __future__ import annotations

import sys

import click

from stdc.cli.group import cli, current_engine, for_each


@cli.command("import")
@click.option("-c", "--change", "changes", multiple=True, metavar="'CMD …'", help="Set CMD/ENV/WORKDIR/ENTRYPOINT.")
@click.argument("tarball")
@click.argument("reference")
def import_(changes: tuple[str, ...], tarball: str, reference: str) -> None:
    """Make a one-layer image from a root filesystem tarball (- reads stdin)."""
    from stdc.engine import images as verbs

    source = sys.stdin.buffer if tarball == "-" else tarball
    click.echo(verbs.import_tarball(current_engine(), source, reference, list(changes)).id)


@cli.command()
@click.argument("source")
@click.argument("target")
def tag(source: str, target: str) -> None:
    """Give the image SOURCE the additional name TARGET."""
    from stdc.engine import images as verbs

    verbs.tag(current_engine(), source, target)


@cli.command()
@click.option("-f", "--force", is_flag=True, help="Remove even if containers use it.")
@click.argument("images", nargs=-1, required=True)
def rmi(force: bool, images: tuple[str, ...]) -> None:
    """Remove images (refused while a container uses one, unless -f)."""
    from stdc.engine import images as verbs

    engine = current_engine()
    for_each(images, lambda ref: click.echo(verbs.remove(engine, ref, force=force)))
