"""Lifecycle commands beside start and stop: restart, pause, unpause, rename."""

from __future__ import annotations

import click

from stdc.cli.group import cli, current_engine, each_container, unknown_exits_1


@cli.command()
@click.option("-t", "--time", "timeout", default=10, show_default=True, help="Seconds before SIGKILL.")
@click.argument("containers", nargs=-1, required=True)
def restart(timeout: int, containers: tuple[str, ...]) -> None:
    """Stop containers (SIGTERM, SIGKILL after --time seconds) and start them again, detached."""
    from stdc.engine import containers as verbs

    each_container(containers, verbs.restart, timeout)


@cli.command()
@click.argument("containers", nargs=-1, required=True)
def pause(containers: tuple[str, ...]) -> None:
    """Freeze every process of running containers (the cgroup freezer)."""
    from stdc.engine import containers as verbs

    each_container(containers, verbs.pause)


@cli.command()
@click.argument("containers", nargs=-1, required=True)
def unpause(containers: tuple[str, ...]) -> None:
    """Thaw paused containers."""
    from stdc.engine import containers as verbs

    each_container(containers, verbs.unpause)


@cli.command()
@click.argument("old")
@click.argument("new")
def rename(old: str, new: str) -> None:
    """Rename a container (names are unique)."""
    from stdc.engine import containers as verbs

    with unknown_exits_1():
        verbs.rename(current_engine(), old, new)
