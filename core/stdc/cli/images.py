"""Image commands: images, import, tag, rmi."""

from __future__ import annotations

import os
import sys

import click

from stdc.cli import cli, current_engine
from stdc.errors import StdcError


@cli.command()
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
def images(quiet: bool) -> None:
    """List images."""
    from stdc import formatting

    found = current_engine().store.list_images()
    if quiet:
        for _ref, image in found:
            click.echo(image.id.split(":")[1][:12])
        return
    from stdc.cli.info import holdings

    # the storage drivers that have unpacked all of an image's layers in this root
    drivers: dict[str, list[str]] = {}
    for held in holdings(current_engine(), with_installed=False):
        for ref in held.images:
            drivers.setdefault(ref, []).append(held.driver)
    rows = []
    for ref, image in found:
        name, _, tag = str(ref).rpartition(":")
        rows.append(
            (name, tag, image.id.split(":")[1][:12], formatting.ago(image.created_ts), formatting.size(image.size),
             ",".join(drivers.get(str(ref), [])) or "-")
        )  # fmt: skip
    click.echo(formatting.table(("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "DRIVERS"), rows))


@cli.command("import")
@click.option("-c", "--change", "changes", multiple=True, metavar="'CMD …'", help="Set CMD/ENV/WORKDIR/ENTRYPOINT.")
@click.argument("tarball")
@click.argument("reference")
def import_(changes: tuple[str, ...], tarball: str, reference: str) -> None:
    """Make a one-layer image from a root filesystem tarball (- reads stdin)."""
    from stdc.images.importer import import_tarball

    engine = current_engine()
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
    current_engine().store.tag(source, target)


@cli.command()
@click.option("-f", "--force", is_flag=True, help="Remove even if containers use it.")
@click.argument("images", nargs=-1, required=True)
def rmi(force: bool, images: tuple[str, ...]) -> None:
    """Remove images (refused while a container uses one, unless -f)."""
    engine = current_engine()
    for ref in images:
        click.echo(engine.remove_image(ref, force=force))
