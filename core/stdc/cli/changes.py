"""Change management commands: diff, commit, export, cp, history, save, load."""

from __future__ import annotations

import json
import os
import sys

import click

from stdc.cli import cli, current_engine
from stdc.errors import StdcError


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.argument("container")
def diff(fmt: str, container: str) -> None:
    """List the changes to a container's filesystem: A (added), C (changed), D (deleted) + path."""
    from stdc import changes

    engine = current_engine()
    found = changes.diff(engine, engine.state.get(container))
    if fmt == "json":
        click.echo(json.dumps([{"Kind": kind, "Path": "/" + path} for kind, path in found]))
        return
    click.echo("".join(f"{kind} /{path}\n" for kind, path in found), nl=False)


@cli.command()
@click.option("-m", "--message", metavar="TEXT", help="Commit message (the history entry's comment).")
@click.option("-a", "--author", metavar="NAME", help='Author (e.g. "Jane Doe <jane@example.com>").')
@click.option("-c", "--change", "changes", multiple=True, metavar="'CMD …'", help="Set CMD/ENV/WORKDIR/ENTRYPOINT….")
@click.argument("container")
@click.argument("reference", required=False)
def commit(
    message: str | None, author: str | None, changes: tuple[str, ...], container: str, reference: str | None
) -> None:
    """Make a new image from a container's changes; print its id."""
    from stdc import changes as container_changes

    engine = current_engine()
    c = engine.state.get(container)
    image = container_changes.commit(engine, c, reference, message=message, author=author, changes=list(changes))
    click.echo(image.id)


@cli.command()
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.argument("container")
def export(output: str | None, container: str) -> None:
    """Write a container's filesystem, flattened, as a tar archive."""
    from stdc import changes

    engine = current_engine()
    c = engine.state.get(container)
    if output is None:
        if sys.stdout.isatty():
            raise StdcError("refusing to write a tar archive to a terminal: redirect stdout or use -o FILE")
        changes.export(engine, c, sys.stdout.fileno())
        return
    _to_file(output, lambda fd: changes.export(engine, c, fd))


def _to_file(path: str, write: object) -> None:
    """Write through ``write(fd)`` to a temp file next to ``path``, renamed to it when whole."""
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".stdc-", dir=directory)
    try:
        write(fd)  # type: ignore[operator]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
        raise


@cli.command()
@click.option("-a", "--archive", is_flag=True, help="Keep owners (uid/gid) as they are.")
@click.argument("source")
@click.argument("destination")
def cp(archive: bool, source: str, destination: str) -> None:
    """Copy files between a container and the host: CONTAINER:PATH HOSTPATH or HOSTPATH CONTAINER:PATH."""
    from stdc import copy

    engine = current_engine()
    src_container, src_path = _split_container_path(source)
    dst_container, dst_path = _split_container_path(destination)
    if (src_container is None) == (dst_container is None):
        raise StdcError("one of SOURCE and DESTINATION must be CONTAINER:PATH, the other a host path")
    if src_container is not None:
        copy.copy_out(engine, engine.state.get(src_container), src_path, dst_path, archive=archive)
    else:
        assert dst_container is not None
        copy.copy_in(engine, engine.state.get(dst_container), src_path, dst_path, archive=archive)


def _split_container_path(arg: str) -> tuple[str | None, str]:
    """``NAME:PATH`` -> (NAME, PATH); a host path (starting with / or ., or without a colon) -> (None, arg)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    name, _, path = arg.partition(":")
    return name, path or "/"


@cli.command()
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.argument("image")
def history(no_trunc: bool, quiet: bool, fmt: str, image: str) -> None:
    """Show the history of an image: one line per step, newest first."""
    from stdc import formatting
    from stdc.kit.imagespec import parse_time

    img = current_engine().store.resolve(image)
    rows = _history_rows(img)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=4))
        return
    if quiet:
        click.echo("\n".join(r["Id"] if no_trunc else r["Id"].split(":")[-1][:12] for r in rows))
        return
    table = []
    for r in rows:
        by = r["CreatedBy"]
        if not no_trunc and len(by) > 45:
            by = by[:44] + "…"
        ident = r["Id"] if no_trunc or r["Id"] == "<missing>" else r["Id"].split(":")[-1][:12]
        created = formatting.ago(parse_time(r["Created"])) if r["Created"] else ""
        table.append((ident, created, by, formatting.size(r["Size"]), r["Comment"]))
    click.echo(formatting.table(("IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"), table))


def _history_rows(img: object) -> list[dict]:
    """History entries newest first, each with the size of the layer it made (0 for empty ones)."""
    config = img.config  # type: ignore[attr-defined]
    layers = list(img.layers)  # type: ignore[attr-defined]
    entries = [h for h in config.get("history") or [] if isinstance(h, dict)]
    rows = []
    index = 0
    for h in entries:
        size = 0
        if not h.get("empty_layer") and index < len(layers):
            size = layers[index].size
            index += 1
        rows.append(
            {
                "Id": "<missing>",
                "Created": h.get("created") or "",
                "CreatedBy": h.get("created_by") or "",
                "Size": size,
                "Comment": h.get("comment") or "",
                "Author": h.get("author") or "",
            }
        )
    rows.reverse()
    if rows:
        rows[0]["Id"] = img.id  # type: ignore[attr-defined]
    return rows


@cli.command()
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (default: stdout).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["oci-archive", "docker-archive", "oci", "docker"]),
    default="oci-archive",
    show_default=True,
    help="oci-archive (an OCI image layout in a tar) or docker-archive (the `docker save` layout).",
)
@click.argument("images", nargs=-1, required=True)
def save(output: str | None, fmt: str, images: tuple[str, ...]) -> None:
    """Save images to a tar archive."""
    from stdc.images import archive

    engine = current_engine()
    kind = "docker" if fmt.startswith("docker") else "oci"
    if output is None:
        if sys.stdout.isatty():
            raise StdcError("refusing to write a tar archive to a terminal: redirect stdout or use -o FILE")
        archive.save(engine.store, list(images), sys.stdout.buffer, kind)
        return

    def write(fd: int) -> None:
        with os.fdopen(os.dup(fd), "wb") as f:
            archive.save(engine.store, list(images), f, kind)

    _to_file(output, write)


@cli.command()
@click.option("-i", "--input", "source", metavar="PATH", help="An archive (OCI or docker) or an OCI layout directory.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
def load(source: str | None, quiet: bool) -> None:
    """Load images from an archive (stdin by default) or an OCI layout directory."""
    from stdc.images import archive

    engine = current_engine()
    if source is None or source == "-":
        loaded = archive.load(engine.store, sys.stdin.buffer)
    else:
        if not os.path.exists(source):
            raise StdcError(f"{source}: no such file or directory")
        loaded = archive.load(engine.store, source)
    for name, image in loaded:
        engine.emit("stdc_image_added", reference=name, digest=image.manifest_digest, how="load")
        if not quiet:
            click.echo(f"Loaded image: {name}" if name else f"Loaded image ID: {image.id}")
