"""``stdc build`` (docker's classic builder output: ``Step 3/9 : RUN ...``, the step's output as
it comes, ``Using cache``, the final id and tags) and ``stdc builder prune``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from stdc.cli import formatting
from stdc.cli.group import CONTEXT, cli, current_engine
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.build import BuildEvent


def _pairs(values: tuple[str, ...], what: str, from_env: bool = False) -> dict[str, str]:
    found = {}
    for item in values:
        key, has_value, value = item.partition("=")
        if not key:
            raise BadInput(f"invalid {what} {item!r}: give KEY=VALUE")
        if not has_value:
            if not from_env or key not in os.environ:
                continue  # docker: --build-arg NAME with NAME unset passes nothing
            value = os.environ[key]
        found[key] = value
    return found


def _show(quiet: bool) -> Callable[[BuildEvent], None]:
    """What prints each build event, docker's classic way (``quiet``: nothing)."""
    out, err = sys.stdout.buffer, sys.stderr.buffer

    def show(event: BuildEvent) -> None:
        if quiet:
            return
        if event.kind == "output":
            stream = err if event.stream == 2 else out
            stream.write(event.data)
            stream.flush()
            return
        text = {
            "step": event.text,
            "trigger": f" # {event.text}",
            "running": f" ---> Running in {event.text}",
            "cache": " ---> Using cache",
            "done": f" ---> {event.text}",
            "built": f"Successfully built {event.text.split(':')[-1][:12]}",
            "tagged": f"Successfully tagged {event.text}",
        }.get(event.kind)
        if event.kind == "warning":
            err.write(f"[Warning] {event.text}\n".encode())
            err.flush()
        elif text is not None:
            out.write(text.encode() + b"\n")
            out.flush()

    return show


@cli.command(context_settings=CONTEXT)
@click.option("-t", "--tag", "tags", multiple=True, metavar="NAME[:TAG]", help="Name the image (repeatable).")
@click.option(
    "-f", "--file", "dockerfile", metavar="FILE", help="The Dockerfile (default: CONTEXT/Dockerfile; - stdin)."
)
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY=VALUE", help="A build-time variable.")
@click.option("--target", metavar="STAGE", help="Build the stages up to this one.")
@click.option("--no-cache", is_flag=True, help="Make every step again.")
@click.option("--pull", is_flag=True, help="Pull every base image, even one already here.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label of the image.")
@click.option("--network", metavar="MODE", help="The network of RUN steps: none, bridge or host.")
@click.option("--platform", metavar="OS/ARCH", help="The platform of pulled base images.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image id.")
@click.option("--iidfile", metavar="FILE", help="Write the image id to FILE.")
@click.option("--rm/--no-rm", default=True, help="Remove the steps' containers (always done).")
@click.option("--force-rm", is_flag=True, help="Remove the containers even after a failure (always done).")
@click.argument("context")
def build(
    tags: tuple[str, ...],
    dockerfile: str | None,
    build_args: tuple[str, ...],
    target: str | None,
    no_cache: bool,
    pull: bool,
    labels: tuple[str, ...],
    network: str | None,
    platform: str | None,
    quiet: bool,
    iidfile: str | None,
    rm: bool,
    force_rm: bool,
    context: str,
) -> None:
    """Build an image from a Dockerfile and a context (a directory, or - for a tar on stdin)."""
    from stdc.engine.build import BuildOptions
    from stdc.engine.build import build as build_image

    opts = BuildOptions(
        tags=list(tags),
        build_args=_pairs(build_args, "--build-arg", from_env=True),
        target=target,
        no_cache=no_cache,
        pull=pull,
        labels=_pairs(labels, "--label"),
        network=network,
        platform=platform,
    )
    if context == "-":
        opts.context_tar = sys.stdin.buffer
        opts.dockerfile = dockerfile
    else:
        opts.context_dir = context
        if dockerfile == "-":
            opts.dockerfile_text = sys.stdin.read()
        elif dockerfile is not None:
            try:
                with open(dockerfile, encoding="utf-8", errors="replace") as f:
                    opts.dockerfile_text = f.read()
            except OSError as e:
                raise BadInput(f"Cannot locate specified Dockerfile: {dockerfile} ({e.strerror})") from None
    image = build_image(current_engine(), opts, _show(quiet))
    if quiet:
        click.echo(image.id)
    if iidfile:
        with open(iidfile, "w") as f:
            f.write(image.id)


@cli.group(context_settings=CONTEXT)
def builder() -> None:
    """Manage the build cache."""


@builder.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Every cache entry (the only kind stdc keeps).")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
def builder_prune(all_: bool, force: bool) -> None:
    """Remove the build cache."""
    from stdc.cli.prune_commands import confirmed
    from stdc.engine.build import layer_cache

    if not confirmed(force, "WARNING! This will remove all dangling build cache."):
        return
    count, freed = layer_cache.prune(current_engine())
    if count:
        click.echo(f"Deleted build cache objects: {count}")
    click.echo(f"Total reclaimed space: {formatting.human_size(freed)}")
