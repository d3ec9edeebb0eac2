"""Backend commands: plugins."""

from __future__ import annotations

import click

from stdc.cli.group import cli, current_engine


@cli.command()
def plugins() -> None:
    """List every installed backend: kind, name, distribution, version, usable here or why not."""
    from stdc.cli import formatting
    from stdc.engine import system

    engine = current_engine()
    rows = []
    for p in system.installed_backends(engine):
        usable = "yes" if p.problem is None else f"not usable ({p.problem})"
        chosen = "*" if engine.config.backends.get(p.kind) == p.name else ""
        rows.append((p.kind, p.name + chosen, p.distribution, p.version, usable))
    click.echo(formatting.table(("KIND", "NAME", "DISTRIBUTION", "VERSION", "USABLE"), rows))
    click.echo("(* = selected)")
