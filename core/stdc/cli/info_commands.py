"""System-wide information: info (the root, the backends, and which storage driver holds what)
and version."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from stdc.cli.format_output import show_documents
from stdc.cli.group import cli, current_engine
from stdc.cli.system_commands import system


@cli.command()
@click.option(
    "--format",
    "fmt",
    metavar="TEMPLATE",
    help="'json' (stdc's document) or a Go template over docker's /info fields and stdc's "
    "(e.g. '{{.ServerVersion}} {{.Driver}} {{.Containers}}').",
)
def info(fmt: str | None) -> None:
    """Show the root, the selected backends, how user namespaces get their files (``idmapped``:
    idmapped mounts of the storage driver's layers) and what each storage driver holds."""
    from stdc.cli import formatting
    from stdc.engine import docker_documents, system

    engine = current_engine()
    found = system.info(engine)
    document = {**found, "Storage": [asdict(h) for h in found["Storage"]]}
    if fmt and fmt.strip() == "json":
        click.echo(json.dumps(document, indent=2))
        return
    if fmt and fmt.strip() != "table":
        show_documents(fmt, [{**docker_documents.info_document(engine), **document}])
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


system.add_command(info, "info")  # docker system info


@cli.command()
@click.option(
    "-f", "--format", "fmt", metavar="TEMPLATE", help="A Go template, e.g. '{{.Server.Version}}' or '{{json .}}'."
)
def version(fmt: str | None) -> None:
    """Show the versions of stdc (Client and Server: the same program), the Docker API whose
    documents it follows, Python and the kernel."""
    from stdc.engine import docker_documents

    server = docker_documents.version_document()
    client = {
        "Version": server["Version"],
        "ApiVersion": server["ApiVersion"],
        "DefaultAPIVersion": server["ApiVersion"],
        "GitCommit": server["GitCommit"],
        "GoVersion": server["GoVersion"],
        "Os": server["Os"],
        "Arch": server["Arch"],
        "BuildTime": server["BuildTime"],
        "Context": "default",
    }
    if fmt:
        show_documents(fmt if fmt.strip() != "json" else "{{json .}}", [{"Client": client, "Server": server}])
        return
    click.echo(
        f"Client:\n Version:           {client['Version']}\n API version:       {client['ApiVersion']}\n"
        f" Python version:    {client['GoVersion']}\n OS/Arch:           {client['Os']}/{client['Arch']}\n\n"
        f"Server: stdc\n Engine:\n  Version:          {server['Version']}\n"
        f"  API version:      {server['ApiVersion']} (minimum version {server['MinAPIVersion']})\n"
        f"  Python version:   {server['GoVersion']}\n  OS/Arch:          {server['Os']}/{server['Arch']}\n"
        f"  Kernel version:   {server['KernelVersion']}"
    )
