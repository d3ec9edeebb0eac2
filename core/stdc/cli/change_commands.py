"""Change management commands: diff, commit, export, cp, history, save, load."""

from __future__ import annotations

import json
import os
import sys

import click

from stdc.cli.format_output import format_option, show_rows
from stdc.cli.group import cli, current_engine
from stdc.errors import StdcError


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.argument("container")
def diff(fmt: str, container: str) -> None:
    """List the changes to a container's filesystem: A (added), C (changed), D (deleted) + path."""
    from stdc.engine import changes

    found = changes.diff(current_engine(), container)
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
    from stdc.engine import changes as container_changes

    engine = current_engine()
    options = {"message": message, "author": author, "changes": list(changes)}
    image = container_changes.commit(engine, container, reference, **options)
    click.echo(image.id)


@cli.command()
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.argument("container")
def export(output: str | None, container: str) -> None:
    """Write a container's filesystem, flattened, as a tar archive."""
    from stdc.engine import changes

    engine = current_engine()
    if output is None:
        if sys.stdout.isatty():
            raise StdcError("refusing to write a tar archive to a terminal: redirect stdout or use -o FILE")
        changes.export(engine, container, sys.stdout.fileno())
        return
    _to_file(output, lambda fd: changes.export(engine, container, fd))


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
    """Copy files between a container and the host: CONTAINER:PATH HOSTPATH or HOSTPATH CONTAINER:PATH.
    A HOSTPATH of - is a tar stream: to stdout (CONTAINER:PATH -), or from stdin into the
    existing directory PATH (- CONTAINER:PATH)."""
    from stdc.engine import copy

    engine = current_engine()
    src_container, src_path = _split_container_path(source)
    dst_container, dst_path = _split_container_path(destination)
    if (src_container is None) == (dst_container is None):
        raise StdcError("one of SOURCE and DESTINATION must be CONTAINER:PATH, the other a host path")
    if src_container is not None and destination == "-":
        if sys.stdout.isatty():
            raise StdcError("refusing to write a tar archive to a terminal: redirect stdout")
        sys.stdout.flush()
        copy.copy_out_tar(engine, src_container, src_path, sys.stdout.fileno())
    elif source == "-":
        assert dst_container is not None
        copy.copy_in_tar(engine, dst_container, sys.stdin.fileno(), dst_path, archive=archive)
    elif src_container is not None:
        copy.copy_out(engine, src_container, src_path, dst_path, archive=archive)
    else:
        assert dst_container is not None
        copy.copy_in(engine, dst_container, src_path, dst_path, archive=archive)


def _split_container_path(arg: str) -> tuple[str | None, str]:
    """``NAME:PATH`` -> (NAME, PATH); a host path (starting with / or ., or without a colon) -> (None, arg)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    name, _, path = arg.partition(":")
    return name, path or "/"


@cli.command()
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-q", "--quiet", is_flag=True, help="Only image ids.")
@format_option()
@click.argument("image")
def history(no_trunc: bool, quiet: bool, fmt: str | None, image: str) -> None:
    """Show the history of an image: one line per step, newest first (--format fields: .ID
    .CreatedSince .CreatedAt .CreatedBy .Size .Comment)."""
    from stdc.cli import formatting, listing_rows
    from stdc.engine import images
    from stdc.kit.imagespec import parse_time

    rows = images.history(current_engine(), image)
    if fmt and not quiet:
        found = []
        for r in rows:
            created = parse_time(r["Created"]) if r["Created"] else None
            found.append(
                {
                    "ID": r["Id"] if no_trunc or r["Id"] == "<missing>" else r["Id"].split(":")[-1][:12],
                    "CreatedSince": formatting.ago(created) if created else "N/A",
                    "CreatedAt": listing_rows.go_time(created) if created else "",
                    "CreatedBy": r["CreatedBy"] if no_trunc else listing_rows.ellipsis(r["CreatedBy"], 45),
                    "Size": formatting.size(r["Size"]),
                    "Comment": r["Comment"],
                }
            )
        titles = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY"}
        show_rows(fmt, found, titles, "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
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
    from stdc.engine import images as verbs

    engine = current_engine()
    kind = "docker" if fmt.startswith("docker") else "oci"
    if output is None:
        if sys.stdout.isatty():
            raise StdcError("refusing to write a tar archive to a terminal: redirect stdout or use -o FILE")
        verbs.save(engine, list(images), sys.stdout.buffer, kind)
        return

    def write(fd: int) -> None:
        with os.fdopen(os.dup(fd), "wb") as f:
            verbs.save(engine, list(images), f, kind)

    _to_file(output, write)


@cli.command()
@click.option("-i", "--input", "source", metavar="PATH", help="An archive (OCI or docker) or an OCI layout directory.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing.")
def load(source: str | None, quiet: bool) -> None:
    """Load images from an archive (stdin by default) or an OCI layout directory."""
    from stdc.engine import images

    loaded = images.load(current_engine(), sys.stdin.buffer if source is None or source == "-" else source)
    for name, image in loaded:
        if not quiet:
            click.echo(f"Loaded image: {name}" if name else f"Loaded image ID: {image.id}")
