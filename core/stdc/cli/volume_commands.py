"""Volume commands (volume create/ls/inspect/rm) and the run/create options that mount them."""

from __future__ import annotations

from typing import Any

import click

from stdc.cli.format_output import format_option, label_method, show_documents, show_rows
from stdc.cli.group import CONTEXT, cli, current_engine


def volume_options() -> list[Any]:
    """``-v``, ``--tmpfs`` and ``--read-only`` for ``run`` and ``create``."""
    return [
        click.option(
            "-v",
            "--volume",
            "volumes",
            multiple=True,
            metavar="[SRC:]CPATH[:ro|rw]",
            help="Mount SRC at CPATH: an absolute host path (which must exist: stdc refuses a missing "
            "one, like podman, where docker's -v would create it) or a volume name (created if absent); "
            "CPATH alone: a new anonymous volume (rm -v removes it). :ro is read-only all the way down.",
        ),
        click.option(
            "--tmpfs",
            multiple=True,
            metavar="CPATH[:OPTS]",
            help="Mount a tmpfs at CPATH (nosuid,nodev,noexec unless OPTS say otherwise; e.g. size=64m,mode=1777).",
        ),
        click.option(
            "--read-only",
            is_flag=True,
            help="Make the root filesystem read-only (/dev/shm, --tmpfs and volumes stay writable).",
        ),
    ]


@cli.group(context_settings=CONTEXT)
def volume() -> None:
    """Manage named volumes: directories under the stdc root that outlive containers."""


@volume.command("create")
@click.option("--label", "labels", multiple=True, metavar="K[=V]", help="Set a label on the volume.")
@click.argument("name")
def volume_create(labels: tuple[str, ...], name: str) -> None:
    """Create a volume (nothing happens if it exists)."""
    from stdc.engine import run_config, volumes

    click.echo(volumes.create(current_engine(), name, labels=run_config.labels(None, [], list(labels)))["Name"])


@volume.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
@click.option(
    "-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
    help="name=, driver=, label=K[=V], dangling=true|false.",
)  # fmt: skip
@format_option()
def volume_ls(quiet: bool, filters: tuple[str, ...], fmt: str | None) -> None:
    """List volumes (--format fields: .Name .Driver .Scope .Mountpoint .Labels .Label "k" .Links .Size)."""
    from stdc.engine import object_filters
    from stdc.engine.docker_filters import parse_filters

    engine = current_engine()
    found = object_filters.volumes(engine, parse_filters(filters))
    if quiet:
        for v in found:
            click.echo(v["Name"])
        return
    rows = []
    for v in found:
        labels = v["Labels"] or {}
        rows.append(
            {
                "Name": v["Name"],
                "Driver": v["Driver"],
                "Scope": v["Scope"],
                "Mountpoint": v["Mountpoint"],
                "Labels": ",".join(f"{k}={val}" for k, val in sorted(labels.items())),
                "Label": label_method(labels),
                "Links": "N/A",
                "Size": "N/A",
            }
        )
    show_rows(fmt, rows, {"Name": "VOLUME NAME"}, "table {{.Driver}}\t{{.Name}}")


@volume.command("inspect")
@click.option("-f", "--format", "fmt", metavar="TEMPLATE", help="'json' (the default) or a Go template per volume.")
@click.argument("names", nargs=-1, required=True)
def volume_inspect(fmt: str | None, names: tuple[str, ...]) -> None:
    """Show volumes as the Docker Engine API describes them (Mountpoint: where the content lives)."""
    from stdc.engine import docker_documents

    engine = current_engine()
    show_documents(fmt, [docker_documents.volume_inspect(engine, name) for name in names])


@volume.command("rm")
@click.option("-f", "--force", is_flag=True, help="No error for a volume that does not exist.")
@click.argument("names", nargs=-1, required=True)
def volume_rm(force: bool, names: tuple[str, ...]) -> None:
    """Remove volumes and their content; refused while a container (even stopped) uses one, as docker does."""
    from stdc.engine import volumes
    from stdc.errors import NotFound

    engine = current_engine()
    for name in names:
        try:
            volumes.remove(engine, name)
        except NotFound:
            if not force:
                raise
            continue
        click.echo(name)
