"""Network commands: network create/ls/rm/inspect/prune, and port.

Named networks belong to the network provider (``--net``; while that is ``none`` or ``host``,
the default provider): the verbs of :mod:`stdc.engine.networks` relay to its hooks. ``none``
and ``host`` are the core's and always listed.
"""

from __future__ import annotations

import json

import click

from stdc.cli.group import CONTEXT, cli, current_engine


@cli.group(context_settings=CONTEXT)
def network() -> None:
    """Manage networks: none, host, the provider's default (bridge) and user networks."""


@network.command("create")
@click.option("--subnet", metavar="CIDR", help="e.g. 10.89.0.0/24 (default: a free one).")
@click.argument("name")
def network_create(subnet: str | None, name: str) -> None:
    """Create a network; its containers resolve one another by name."""
    from stdc.engine import networks

    click.echo(networks.create(current_engine(), name, subnet))


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
def network_ls(quiet: bool) -> None:
    """List networks."""
    from stdc.cli import formatting
    from stdc.engine import networks

    rows = networks.list_networks(current_engine())
    if quiet:
        for n in rows:
            click.echo(n["Name"])
        return
    table = [(n["Id"][:12], n["Name"], n["Driver"], n["Subnet"], str(len(n["Containers"]))) for n in rows]
    click.echo(formatting.table(("NETWORK ID", "NAME", "DRIVER", "SUBNET", "CONTAINERS"), table))


@network.command("inspect")
@click.argument("names", nargs=-1, required=True)
def network_inspect(names: tuple[str, ...]) -> None:
    """Show networks as JSON."""
    from stdc.engine import networks

    click.echo(json.dumps(networks.inspect(current_engine(), list(names)), indent=4))


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
def network_rm(names: tuple[str, ...]) -> None:
    """Remove networks no container uses."""
    from stdc.engine import networks

    engine = current_engine()
    for name in names:
        networks.remove(engine, name)
        click.echo(name)


@network.command("prune")
def network_prune() -> None:
    """Remove every network no container uses (the default one stays, released while unused)."""
    from stdc.engine import networks

    for name in networks.prune(current_engine()):
        click.echo(name)


@cli.command()
@click.argument("container")
@click.argument("private_port", required=False, metavar="[PORT[/PROTO]]")
def port(container: str, private_port: str | None) -> None:
    """List a running container's published ports (or where PORT is published)."""
    from stdc.engine import networks
    from stdc.kit.netns import format_port

    found = networks.ports(current_engine(), container, private_port)
    if private_port is None:
        for p in found:
            click.echo(format_port(p))
        return
    for p in found:
        click.echo(f"{p['host_ip'] or '0.0.0.0'}:{p['host_port']}")
