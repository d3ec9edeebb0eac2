"""System commands: ``events`` (the root's event journal, as docker prints it) and ``system df``
(what images, containers and volumes take); the ``system prune`` family lives in
:mod:`stdc.cli.prune_commands`."""

from __future__ import annotations

import datetime
import json
import os
import sys

import click

from stdc.cli.format_output import go_values, is_json
from stdc.cli.group import CONTEXT, cli, current_engine


def event_line(doc: dict) -> str:
    """Docker's default line: ``2024-01-01T00:00:00.000000000Z container start ID (image=base, name=web)``."""
    nano = doc["timeNano"]
    stamp = datetime.datetime.fromtimestamp(nano // 1_000_000_000, tz=datetime.UTC)
    when = f"{stamp:%Y-%m-%dT%H:%M:%S}.{nano % 1_000_000_000:09d}Z"
    attrs = doc["Actor"].get("Attributes") or {}
    detail = f" ({', '.join(f'{k}={v}' for k, v in sorted(attrs.items()))})" if attrs else ""
    return f"{when} {doc['Type']} {doc['Action']} {doc['Actor']['ID']}{detail}"


@cli.command(context_settings=CONTEXT)
@click.option("--since", metavar="TIME", help="Events from TIME on (RFC 3339, unix timestamp or duration like 10m).")
@click.option("--until", metavar="TIME", help="Stop at TIME (same forms); without it, follow new events.")
@click.option(
    "-f",
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="type, event (action), container, image, network, volume, label, scope; repeat a key for OR.",
)
@click.option("--format", "fmt", metavar="TEMPLATE", help="A Go template, e.g. '{{json .}}' or '{{.Action}}'.")
def events(since: str | None, until: str | None, filters: tuple[str, ...], fmt: str | None) -> None:
    """Show the events of this root (containers, images, networks, volumes) as docker does:
    past ones with --since/--until, then new ones as they come until --until or Ctrl-C."""
    from stdc.engine import event_query

    template = None
    as_json = is_json(fmt)
    if fmt and not as_json:
        from stdc.cli import gotemplate

        template = gotemplate.parse(fmt.replace("\\t", "\t").replace("\\n", "\n"))
    stream = event_query.events(current_engine(), since=since, until=until, filters=list(filters), follow=True)
    try:
        for doc in stream:
            if as_json:
                line = json.dumps(doc, separators=(",", ":"))
            else:
                line = template.execute(go_values(doc)) if template else event_line(doc)
            click.echo(line)
    except BrokenPipeError:  # `stdc events | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@cli.group(context_settings=CONTEXT)
def system() -> None:
    """Manage the root as a whole: check, df, events, info, prune (events and info are top-level
    commands too, as docker has them)."""


system.add_command(events, "events")


def _reclaim(size: int, reclaimable: int) -> str:
    from stdc.cli import formatting

    share = f" ({round(100 * reclaimable / size)}%)" if size else ""
    return f"{formatting.human_size(reclaimable)}{share}"


@system.command("df")
@click.option("-v", "--verbose", is_flag=True, help="Show every image, container and volume.")
@click.option("--format", "fmt", metavar="TEMPLATE", help="A Go template per row, e.g. '{{json .}}'.")
def system_df(verbose: bool, fmt: str | None) -> None:
    """Show what images, containers and local volumes take, and what pruning would free."""
    from stdc.cli import formatting
    from stdc.engine import disk_usage

    usage = disk_usage.disk_usage(current_engine())
    rows = disk_usage.summary(usage)
    if fmt:
        from stdc.cli import gotemplate

        template = gotemplate.parse(fmt)
        for row in rows:
            click.echo(json.dumps(row) if fmt == "{{json .}}" else template.execute(row))
        return
    if not verbose:
        table = [
            (
                r["Type"],
                r["TotalCount"],
                r["Active"],
                formatting.human_size(r["Size"]),
                _reclaim(r["Size"], r["Reclaimable"]),
            )
            for r in rows
        ]
        click.echo(formatting.table(("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"), table))
        return
    images = []
    for i in usage["Images"]:
        unique = i["Size"] - i["SharedSize"]
        for tag in i["RepoTags"] or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            images.append(
                (
                    repo,
                    name,
                    i["Id"].split(":")[-1][:12],
                    formatting.ago(i["Created"]),
                    formatting.human_size(i["Size"]),
                    formatting.human_size(i["SharedSize"]),
                    formatting.human_size(unique),
                    i["Containers"],
                )
            )
    click.echo("Images space usage:\n")
    header = ("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS")
    click.echo(formatting.table(header, images))
    click.echo("\nContainers space usage:\n")
    containers = [
        (
            c["Id"][:12],
            c["Image"],
            formatting.command(c["Command"].split()),
            formatting.human_size(c["SizeRw"] or 0),
            formatting.ago(c["Created"]),
            c["State"],
            c["Names"][0],
        )
        for c in usage["Containers"]
    ]
    click.echo(formatting.table(("CONTAINER ID", "IMAGE", "COMMAND", "SIZE", "CREATED", "STATUS", "NAMES"), containers))
    click.echo("\nLocal Volumes space usage:\n")
    volumes = [
        (v["Name"], v["UsageData"]["RefCount"], formatting.human_size(v["UsageData"]["Size"])) for v in usage["Volumes"]
    ]
    click.echo(formatting.table(("VOLUME NAME", "LINKS", "SIZE"), volumes))
    click.echo("\nBuild cache usage: 0B")
