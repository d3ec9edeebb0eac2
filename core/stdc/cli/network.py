"""Network commands: network create/ls/rm/inspect/prune, and port.

Named networks belong to the network provider (``--net``; while that is ``none`` or ``host``,
the default provider): these commands relay to its hooks. ``none`` and ``host`` are the core's
and always listed.
"""

from __future__ import annotations

import json
from typing import Any

import click

from stdc.cli import CONTEXT, cli, current_engine
from stdc.errors import Conflict, NotFound

_BUILTIN_ROWS = [
    {"Name": "host", "Id": "host", "Driver": "host", "Subnet": "", "Gateway": "", "Containers": {}},
    {"Name": "none", "Id": "none", "Driver": "null", "Subnet": "", "Gateway": "", "Containers": {}},
]


def _networks(engine: Any) -> list[dict]:
    """Every network: the provider's (when it is installed), then the built-in ones."""
    from stdc.errors import StdcError

    try:
        provider, args = engine.network_provider()
    except StdcError:
        return list(_BUILTIN_ROWS)
    return provider.hook.net_list(**args) + _BUILTIN_ROWS


def _used_by(engine: Any) -> dict[str, list[str]]:
    """Network name -> names of the containers (any state) whose records name it."""
    found: dict[str, list[str]] = {}
    for c in engine.state.all():
        found.setdefault((c.config.get("network") or {}).get("name", c.backends.get("net")), []).append(c.name)
    return found


@cli.group(context_settings=CONTEXT)
def network() -> None:
    """Manage networks: none, host, the provider's default (bridge) and user networks."""


@network.command("create")
@click.option("--subnet", metavar="CIDR", help="e.g. 10.89.0.0/24 (default: a free one).")
@click.argument("name")
def network_create(subnet: str | None, name: str) -> None:
    """Create a network; its containers resolve one another by name."""
    provider, args = current_engine().network_provider()
    if name in ("none", "host"):
        raise Conflict(f"network {name} already exists")
    click.echo(provider.hook.net_create(**args, name=name, subnet=subnet, options={})["Id"])


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
def network_ls(quiet: bool) -> None:
    """List networks."""
    from stdc import formatting

    rows = _networks(current_engine())
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
    known = {n["Name"]: n for n in _networks(current_engine())}
    missing = [name for name in names if name not in known]
    if missing:
        raise NotFound(f"no such network: {missing[0]}")
    click.echo(json.dumps([known[name] for name in names], indent=4))


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
def network_rm(names: tuple[str, ...]) -> None:
    """Remove networks no container uses."""
    engine = current_engine()
    provider, args = engine.network_provider()
    used = _used_by(engine)
    for name in names:
        if name in ("none", "host"):
            raise Conflict(f"{name} is a built-in network: it cannot be removed")
        if used.get(name):
            raise Conflict(f"network {name} is used by container(s) {', '.join(sorted(used[name]))}: remove them first")
        provider.hook.net_remove(**args, name=name)
        click.echo(name)


@network.command("prune")
def network_prune() -> None:
    """Remove every network no container uses (the default one stays, released while unused)."""
    engine = current_engine()
    provider, args = engine.network_provider()
    for name in provider.hook.net_prune(**args, in_use=sorted(_used_by(engine))):
        click.echo(name)


@cli.command()
@click.argument("container")
@click.argument("private_port", required=False, metavar="[PORT[/PROTO]]")
def port(container: str, private_port: str | None) -> None:
    """List a running container's published ports (or where PORT is published)."""
    from stdc.kit.netns import format_port

    engine = current_engine()
    c = engine.refresh(engine.state.get(container))
    ports = c.network.get("ports", []) if c.running else []
    if private_port is None:
        for p in ports:
            click.echo(format_port(p))
        return
    number, _, protocol = private_port.partition("/")
    found = [p for p in ports if str(p["container_port"]) == number and p["protocol"] == (protocol or "tcp")]
    if not found:
        raise NotFound(f"no public port {number}/{protocol or 'tcp'} published for {c.name}")
    for p in found:
        click.echo(f"{p['host_ip'] or '0.0.0.0'}:{p['host_port']}")
