"""System-wide information: info (the root, the backends, and which storage driver holds what)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import click

from stdc.cli import cli, current_engine


@dataclass
class Holding:
    """What one storage driver holds in this root."""

    driver: str
    usable: str
    layers: int = 0
    snapshots: int = 0
    images: list[str] = field(default_factory=list)  # images whose every layer it has unpacked
    containers: list[str] = field(default_factory=list)


def holdings(engine: Any, with_installed: bool = True) -> list[Holding]:
    """Every storage driver that holds files in this root (and, with ``with_installed``, every
    installed one): its layers, snapshots, the images it has unpacked, the containers it serves."""
    from stdc import plugins
    from stdc.errors import StdcError

    storage_root = os.path.join(engine.root, "storage")
    names = set(os.listdir(storage_root)) if os.path.isdir(storage_root) else set()
    if with_installed:
        names |= set(plugins.installed_names("storage"))
    images = engine.store.list_images()
    containers = engine.state.all()
    found = []
    for name in sorted(names):
        home = engine.home("storage", name)
        try:
            driver = plugins.load("storage", name)
            problem = driver.unusable(home)
        except StdcError as e:
            found.append(Holding(name, f"no ({e})"))
            continue
        held = Holding(name, "yes" if problem is None else f"no ({problem})")
        if os.path.isdir(home):
            listed = driver.hook.storage_list(home=home)
            layers = set(listed["layers"])
            held.layers, held.snapshots = len(layers), len(listed["snapshots"])
            held.images = sorted({str(ref) for ref, image in images if set(image.chain_ids()) <= layers})
        held.containers = sorted(c.name for c in containers if c.backends.get("storage") == name)
        found.append(held)
    return found


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def info(fmt: str) -> None:
    """Show the root, the selected backends, how user namespaces get their files (``idmapped``:
    idmapped mounts of the storage driver's layers) and what each storage driver holds."""
    from stdc import formatting

    engine = current_engine()
    config = engine.config
    held = holdings(engine)
    from stdc import userns

    ids = userns.remap(config)
    user_namespaces = {
        "Layers": userns.how(config.root),
        "Remap": f"{ids['uid']}:{ids['gid']}:{ids['size']}" if ids else "none",
    }
    if fmt == "json":
        data = {
            "Root": config.root,
            "RuntimeDir": config.runtime_dir,
            "Backends": config.backends,
            "Storage": [asdict(h) for h in held],
            "UserNamespaces": user_namespaces,
        }
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"Root: {config.root}")
    click.echo(f"Runtime dir: {config.runtime_dir}")
    click.echo("Backends: " + " ".join(f"{k}={v}" for k, v in config.backends.items()))
    click.echo(f"User namespaces: layers {user_namespaces['Layers']}, remap {user_namespaces['Remap']}")
    click.echo("Storage drivers:")
    rows = [
        (
            h.driver + ("*" if config.backends.get("storage") == h.driver else ""),
            h.usable,
            h.layers,
            h.snapshots,
            ", ".join(h.images) or "-",
        )
        for h in held
    ]
    click.echo(formatting.table(("DRIVER", "USABLE", "LAYERS", "SNAPSHOTS", "IMAGES UNPACKED"), rows))
