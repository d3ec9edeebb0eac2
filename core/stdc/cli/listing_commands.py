"""The commands docker users script against: ``ps`` and ``images`` with docker's ``--filter``
and ``--format``, and ``inspect`` of containers, images, networks and volumes in the Docker
Engine API's shape (the documents of :mod:`stdc.engine.docker_documents`)."""

from __future__ import annotations

from collections.abc import Callable

import click

from stdc.cli.format_output import format_option, show_documents, show_rows
from stdc.cli.group import cli, current_engine
from stdc.errors import BadInput, NotFound

FILTER_HELP = "Filter KEY=VALUE (docker's keys; repeat a key for OR)."


@cli.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show stopped containers too.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE", help=FILTER_HELP)
@format_option()
@click.option("-n", "--last", type=int, default=-1, metavar="N", help="The N last created containers (any state).")
@click.option("-l", "--latest", is_flag=True, help="The last created container (any state).")
@click.option("--no-trunc", is_flag=True, help="Full ids and commands.")
@click.option("-q", "--quiet", is_flag=True, help="Only ids.")
@click.option("-s", "--size", is_flag=True, help="Show the writable layer's size (and the image's: virtual).")
def ps(
    all_: bool, filters: tuple[str, ...], fmt: str | None, last: int, latest: bool, no_trunc: bool, quiet: bool,
    size: bool,
) -> None:  # fmt: skip
    """List containers (running ones unless -a, -n or -l). Filters: id, name, label, status,
    ancestor, network, exited, before, since, volume, health, publish, expose."""
    from stdc.cli import listing_rows
    from stdc.engine import docker_documents, docker_filters

    engine = current_engine()
    wanted = docker_filters.parse_filters(list(filters))
    if latest:
        last = 1
    with_size = size or bool(fmt and ".Size" in fmt)
    found = docker_documents.container_summaries(engine, all=all_ or last >= 0 or bool(wanted), size=with_size)
    if not all_ and last < 0 and "status" not in wanted and "exited" not in wanted:
        found = [s for s in found if s["State"] in ("running", "paused", "restarting")]
    found = docker_filters.filter_containers(engine, found, wanted)
    if last >= 0:
        found = found[:last]
    if quiet:  # docker: -q wins over --format
        for s in found:
            click.echo(s["Id"] if no_trunc else s["Id"][:12])
        return
    rows = [listing_rows.container_row(s, trunc=not no_trunc) for s in found]
    default = listing_rows.PS_TABLE + ("\t{{.Size}}" if size else "")
    show_rows(fmt, rows, listing_rows.PS_TITLES, default)


@cli.command()
@click.option("-a", "--all", "all_", is_flag=True, help="Show untagged images too.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE", help=FILTER_HELP)
@format_option()
@click.option("--no-trunc", is_flag=True, help="Full image ids.")
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@click.argument("repository", required=False)
def images(
    all_: bool, digests: bool, filters: tuple[str, ...], fmt: str | None, no_trunc: bool, quiet: bool,
    repository: str | None,
) -> None:  # fmt: skip
    """List images ([REPOSITORY[:TAG]] as a reference filter). Filters: dangling, reference,
    label, before, since, until."""
    from stdc.cli import listing_rows
    from stdc.engine import docker_documents, docker_filters, system

    engine = current_engine()
    wanted = docker_filters.parse_filters(list(filters))
    if repository:
        wanted.setdefault("reference", []).append(repository)
    summaries = docker_documents.image_summaries(engine, all=True)
    if not all_ and "dangling" not in wanted:
        summaries = [s for s in summaries if s["RepoTags"]]
    found = docker_filters.filter_images(engine, summaries, wanted)
    if quiet:  # docker: -q wins over --format
        for image_id in dict.fromkeys(s["Id"] if no_trunc else s["Id"].split(":")[-1][:12] for s in found):
            click.echo(image_id)
        return
    drivers = system.image_drivers(engine) if not fmt or "Drivers" in fmt or fmt.strip() == "table" else {}
    rows = [
        row
        for s in found
        for row in listing_rows.image_rows(s, docker_filters.only_references(s, wanted), not no_trunc, drivers)
    ]
    default = listing_rows.IMAGES_TABLE.replace("{{.Tag}}", "{{.Tag}}\t{{.Digest}}") if digests else None
    show_rows(fmt, rows, listing_rows.IMAGES_TITLES, default or listing_rows.IMAGES_TABLE)


_KINDS = ("container", "image", "network", "volume")


def _inspector(kind: str) -> Callable:
    from stdc.engine import docker_documents

    return {
        "container": docker_documents.container_inspect,
        "image": docker_documents.image_inspect,
        "network": docker_documents.network_inspect,
        "volume": docker_documents.volume_inspect,
    }[kind]


@cli.command()
@click.option("-f", "--format", "fmt", metavar="TEMPLATE", help="'json' (the default) or a Go template per object.")
@click.option("-s", "--size", is_flag=True, help="Containers: add SizeRw and SizeRootFs.")
@click.option("--type", "kind", type=click.Choice(_KINDS), help="Only objects of this type.")
@click.argument("objects", nargs=-1, required=True)
def inspect(fmt: str | None, size: bool, kind: str | None, objects: tuple[str, ...]) -> None:
    """Show containers, images, networks or volumes as the Docker Engine API describes them;
    a name is looked up as a container, then an image, a network, a volume (or --type only).
    Every object found is shown; one not found exits 1 once the others are."""
    from stdc.engine import docker_documents

    engine = current_engine()
    found, missing = [], []
    for ref in objects:
        for candidate in [kind] if kind else _KINDS:
            try:
                if candidate == "container" and size:
                    found.append(docker_documents.container_inspect(engine, ref, size=True))
                else:
                    found.append(_inspector(candidate)(engine, ref))
                break
            except (NotFound, BadInput):  # not a name this kind of object can have
                continue
        else:
            missing.append(ref)
    if found or not missing:
        show_documents(fmt, found)
    if missing:
        error = NotFound(f"no such object: {missing[0]}" if not kind else f"no such {kind}: {missing[0]}")
        error.exit_code = 1
        for ref in missing[1:]:
            click.echo(f"stdc: no such object: {ref}", err=True)
        raise error
