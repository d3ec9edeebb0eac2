"""System commands: ``events`` (the root's event journal, as docker prints it) and ``system df``
(what images, containers and volumes take); the ``system prune`` family lives in
:mod:`stdc.cli.prune_commands`."""

from __future__ import annotations

import datetime
import json

import click

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
    if fmt:
        from stdc.cli import gotemplate

        template = gotemplate.parse(fmt)
    stream = event_query.events(current_engine(), since=since, until=until, filters=list(filters), follow=True)
    for doc in stream:
        line = json.dumps(doc) if fmt == "{{json .}}" else template.execute(doc) if template else event_line(doc)
        click.echo(line)
