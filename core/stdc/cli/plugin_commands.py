"""Backend commands: plugins."""

from __future__ import annotations

import click

from stdc.cli.group import cli, current_engine


@cli.command()
def plugins() -> None:
    """List every installed backend: kind, name, distribution, version, the contract versions it was
    written for, usable here or why not."""
    from stdc.cli import formatting
    from stdc.engine import system
    from stdc.specs import UNDECLARED, VERSION

    engine = current_engine()
    rows = []
    for p in system.installed_backends(engine):
        usable = "yes" if p.problem is None else f"not usable ({p.problem})"
        chosen = "*" if engine.config.backends.get(p.kind) == p.name else ""
        contract = "undeclared" if p.contract is None else str(p.contract)
        rows.append((p.kind, p.name + chosen, p.distribution, p.version, contract, usable))
    click.echo(formatting.table(("KIND", "NAME", "DISTRIBUTION", "VERSION", "CONTRACT", "USABLE"), rows))
    undeclared = f"; undeclared: taken as {UNDECLARED}" if any(row[4] == "undeclared" for row in rows) else ""
    click.echo(f"(* = selected; this stdc implements contract {VERSION}{undeclared})")
