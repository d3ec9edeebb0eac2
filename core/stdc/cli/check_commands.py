"""``stdc system check [--repair]``, like ``podman system check``: what a crash left on the host
for this root (cgroups, network namespaces, links, snapshots, bundles, interrupted downloads)
that no record owns; ``--repair`` removes it. Exits 1 when it found something."""

from __future__ import annotations

import sys

import click

from stdc.cli.group import engine_as_found
from stdc.cli.system_commands import system


@system.command("check")
@click.option("-r", "--repair", is_flag=True, help="Remove what was found, not only report it.")
def system_check(repair: bool) -> None:
    """Compare what stdc made on the host with its records; report what no record owns (and no
    live process holds), and with --repair remove it. Exit status 1 when something was found."""
    from stdc.engine import reconcile

    found = reconcile.check(engine_as_found(), repair_them=repair)
    for line in found["Leftovers"]:
        click.echo(f"{'removed' if repair else 'found'}: {line}")
    for line in found["Problems"]:
        click.echo(f"stdc: {line}", err=True)
    if not found["Leftovers"]:
        click.echo("nothing to reconcile")
    sys.exit(1 if found["Leftovers"] else 0)
