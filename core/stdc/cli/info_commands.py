"""System-wide information: info (the root, the backends, and which storage driver holds what)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from stdc.cli.group import cli, current_engine


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def info(fmt: str) -> None:
    """Show the root, the selected backends, how user namespaces get their files (``idmapped``:
    idmapped mounts of the storage driver's layers) and what each storage driver holds."""
    from stdc.cli import formatting
    from stdc.engine import system

    found = system.info(current_engine())
    if fmt == "json":
        click.echo(json.dumps({**found, "Storage": [asdict(h) for h in found["Storage"]]}, indent=2))
        return
    backends = found["Backends"]
    userns = found["UserNamespaces"]
    click.echo(f"Root: {found['Root']}")
    click.echo(f"Runtime dir: {found['RuntimeDir']}")
    click.echo("Backends: " + " ".join(f"{k}={v}" for k, v in backends.items()))
    layers = f"{userns['Layers']} (overlay layers {userns['OverlayLayers']})"
    click.echo(f"User namespaces: layers {layers}, remap {userns['Remap']}")
    click.echo("Storage drivers:")
    rows = [
        (
            h.driver + ("*" if backends.get("storage") == h.driver else ""),
            h.usable,
            h.layers,
            h.snapshots,
            ", ".join(h.images) or "-",
        )
        for h in found["Storage"]
    ]
    click.echo(formatting.table(("DRIVER", "USABLE", "LAYERS", "SNAPSHOTS", "IMAGES UNPACKED"), rows))
