"""Prune commands: ``container prune``, ``image prune [-a]``, ``volume prune [-a]`` and ``system
prune [-a] [--volumes]``, printing docker's report (``Deleted Containers:`` … ``Total reclaimed
space: 1.2MB``).

Without ``-f`` each asks docker's question and reads the answer from stdin, terminal or not, as
docker does; anything but ``y``/``yes`` (an empty stdin too) cancels: nothing is removed and the
exit status is 0, as docker's cancelled prompt.
"""

from __future__ import annotations

import sys

import click

from stdc.cli import formatting
from stdc.cli.group import CONTEXT, cli, current_engine
from stdc.cli.system_commands import system
from stdc.cli.volume_commands import volume

_FORCE = click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
_FILTER = click.option(
    "--filter", "filters", multiple=True, metavar="KEY=VALUE", help="until=TIME, label=KEY[=VALUE], label!=..."
)


def confirmed(force: bool, warning: str) -> bool:
    """``-f``, or a ``y`` to docker's question read from stdin."""
    if force:
        return True
    click.echo(f"{warning}\nAre you sure you want to continue? [y/N] ", nl=False)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        click.echo()
        return False
    return True


def report(title: str, deleted: list[str]) -> None:
    """One ``Deleted …:`` section, as docker prints it (nothing when nothing went)."""
    if deleted:
        click.echo(f"Deleted {title}:")
        for line in deleted:
            click.echo(line)
        click.echo()


@cli.group(context_settings=CONTEXT)
def container() -> None:
    """Manage containers (docker's ``container`` commands stdc has here: prune)."""


@container.command("prune")
@_FORCE
@_FILTER
def container_prune(force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    from stdc.engine import pruning

    if not confirmed(force, "WARNING! This will remove all stopped containers."):
        return
    pruned = pruning.containers(current_engine(), list(filters))
    report("Containers", pruned.deleted)
    click.echo(f"Total reclaimed space: {formatting.human_size(pruned.reclaimed)}")


@cli.group(context_settings=CONTEXT)
def image() -> None:
    """Manage images (docker's ``image`` commands stdc has here: prune)."""


@image.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones.")
@_FORCE
@_FILTER
def image_prune(all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused images: dangling ones (untagged, no container uses them); -a: every image no container uses."""
    from stdc.engine import pruning

    warning = (
        "WARNING! This will remove all images without at least one container associated to them."
        if all_
        else "WARNING! This will remove all dangling images."
    )
    if not confirmed(force, warning):
        return
    pruned = pruning.images(current_engine(), all=all_, filters=list(filters))
    report("Images", pruned.deleted)
    click.echo(f"Total reclaimed space: {formatting.human_size(pruned.reclaimed)}")


@volume.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused volumes, not just anonymous ones.")
@_FORCE
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="label=KEY[=VALUE], label!=..., all=true")
def volume_prune(all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused local volumes: anonymous ones no container uses; -a: named ones too (docker 23+)."""
    from stdc.engine import pruning

    which = "all local volumes" if all_ else "anonymous local volumes"
    if not confirmed(force, f"WARNING! This will remove {which} not used by at least one container."):
        return
    pruned = pruning.volumes(current_engine(), all=all_, filters=list(filters))
    report("Volumes", pruned.deleted)
    click.echo(f"Total reclaimed space: {formatting.human_size(pruned.reclaimed)}")


@system.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just dangling ones.")
@click.option("--volumes", "with_volumes", is_flag=True, help="Prune anonymous volumes too.")
@_FORCE
@_FILTER
def system_prune(all_: bool, with_volumes: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove stopped containers, unused networks, dangling images (-a: all unused images) and,
    with --volumes, unused anonymous volumes."""
    from stdc.engine import pruning

    lines = ["  - all stopped containers", "  - all networks not used by at least one container"]
    if with_volumes:
        lines.append("  - all anonymous volumes not used by at least one container")
    lines.append(
        "  - all images without at least one container associated to them" if all_ else "  - all dangling images"
    )
    if not confirmed(force, "WARNING! This will remove:\n" + "\n".join(lines)):
        return
    found = pruning.system(current_engine(), all=all_, with_volumes=with_volumes, filters=list(filters))
    report("Containers", found["Containers"].deleted)
    report("Networks", found["Networks"])
    reclaimed = found["Containers"].reclaimed + found["Images"].reclaimed
    if with_volumes:
        report("Volumes", found["Volumes"].deleted)
        reclaimed += found["Volumes"].reclaimed
    report("Images", found["Images"].deleted)
    click.echo(f"Total reclaimed space: {formatting.human_size(reclaimed)}")
