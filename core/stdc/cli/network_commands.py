"""Network commands: network create/ls/rm/inspect/prune, and port.

Named networks belong to the network provider (``--net``; while that is ``none`` or ``host``,
the default provider): the verbs of :mod:`stdc.engine.networks` relay to its hooks. ``none``
and ``host`` are the core's and always listed.
"""

from __future__ import annotations

import click

from stdc.cli import listing_rows
from stdc.cli.format_output import format_option, label_method, show_documents, show_rows
from stdc.cli.group import CONTEXT, cli, current_engine


@cli.group(context_settings=CONTEXT)
def network() -> None:
    """Manage networks: none, host, the provider's default (bridge) and user networks."""


@network.command("create")
@click.option("--subnet", metavar="CIDR", help="e.g. 10.89.0.0/24 (default: a free one).")
@click.option("--label", "labels", multiple=True, metavar="K[=V]", help="Set a label on the network.")
@click.argument("name")
def network_create(subnet: str | None, labels: tuple[str, ...], name: str) -> None:
    """Create a network; its containers resolve one another by name."""
    from stdc.engine import networks, run_config

    click.echo(networks.create(current_engine(), name, subnet, run_config.labels(None, [], list(labels))))


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
@click.option("--no-trunc", is_flag=True, help="Full network ids.")
@click.option(
    "-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
    help="name=, id=, driver=, label=K[=V], type=custom|builtin, scope=local, dangling=true|false.",
)  # fmt: skip
@format_option()
def network_ls(quiet: bool, no_trunc: bool, filters: tuple[str, ...], fmt: str | None) -> None:
    """List networks (--format fields: .ID .Name .Driver .Scope .IPv6 .Internal .Labels .Label "k"
    .CreatedAt .Subnet .Containers)."""
    from stdc.engine import networks, object_filters
    from stdc.engine.docker_filters import parse_filters

    engine = current_engine()
    found = networks.list_networks(engine)
    if filters:
        kept = {d["Name"] for d in object_filters.networks(engine, parse_filters(filters))}
        found = [n for n in found if n["Name"] in kept]
    if quiet:
        for n in found:
            click.echo(n["Name"])
        return
    rows = [
        {
            "ID": n["Id"] if no_trunc else n["Id"][:12],
            "Name": n["Name"],
            "Driver": n["Driver"],
            "Scope": "local",
            "IPv6": "false",
            "Internal": "false",
            "Labels": ",".join(f"{k}={v}" for k, v in sorted((n.get("Labels") or {}).items())),
            "Label": label_method(n.get("Labels") or {}),
            "CreatedAt": listing_rows.go_time(n["Created"]) if isinstance(n.get("Created"), float | int) else "",
            "Subnet": n.get("Subnet") or "",
            "Containers": str(len(n.get("Containers") or {})),
        }
        for n in found
    ]
    table = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Subnet}}\t{{.Containers}}"
    show_rows(fmt, rows, {"ID": "NETWORK ID"}, table)


@network.command("inspect")
@click.option("-f", "--format", "fmt", metavar="TEMPLATE", help="'json' (the default) or a Go template per network.")
@click.argument("names", nargs=-1, required=True)
def network_inspect(fmt: str | None, names: tuple[str, ...]) -> None:
    """Show networks as the Docker Engine API describes them."""
    from stdc.engine import docker_documents

    engine = current_engine()
    show_documents(fmt, [docker_documents.network_inspect(engine, name) for name in names])


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
@format_option()
@click.argument("container")
@click.argument("private_port", required=False, metavar="[PORT[/PROTO]]")
def port(fmt: str | None, container: str, private_port: str | None) -> None:
    """List a running container's published ports (or where PORT is published); --format
    fields: .PrivatePort .Type .HostIp .HostPort."""
    from stdc.engine import networks
    from stdc.kit.netns import format_port

    found = networks.ports(current_engine(), container, private_port)
    if fmt:
        rows = [
            {
                "PrivatePort": str(p["container_port"]),
                "Type": p["protocol"],
                "HostIp": p["host_ip"] or "0.0.0.0",
                "HostPort": str(p["host_port"]),
            }
            for p in found
        ]
        show_rows(fmt, rows, {"PrivatePort": "PORT", "HostIp": "HOST IP", "HostPort": "HOST PORT"})
        return
    if private_port is None:
        for p in found:
            click.echo(format_port(p))
        return
    for p in found:
        click.echo(f"{p['host_ip'] or '0.0.0.0'}:{p['host_port']}")
