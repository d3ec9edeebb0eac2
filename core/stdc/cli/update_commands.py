"""``update``: new limits and restart policy for containers (docker's ``update``), running or not."""

from __future__ import annotations

from typing import Any

import click

from stdc.cli.group import cli, current_engine, for_each

#: click parameter -> field of :class:`~stdc.engine.kernel_limits.LimitFlags`
_LIMITS = (
    "blkio_weight", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpuset_mems",
    "memory_reservation", "kernel_memory",
)  # fmt: skip


@cli.command()
@click.option("--blkio-weight", type=int, metavar="N", help="Block IO relative weight, 10 to 1000 (0: off).")
@click.option("--cpu-period", type=int, metavar="US", help="CPU CFS period in microseconds.")
@click.option("--cpu-quota", type=int, metavar="US", help="CPU CFS quota in microseconds (-1: none).")
@click.option("--cpu-rt-period", type=int, metavar="US", help="CPU real-time period (cgroup v1).")
@click.option("--cpu-rt-runtime", type=int, metavar="US", help="CPU real-time runtime (cgroup v1).")
@click.option("-c", "--cpu-shares", type=int, metavar="N", help="Relative CPU weight.")
@click.option("--cpus", metavar="N", help="CPUs the container may use, e.g. 0.5.")
@click.option("--cpuset-cpus", metavar="LIST", help="CPUs the container may run on, e.g. 0-1 or 0,2.")
@click.option("--cpuset-mems", metavar="LIST", help="Memory nodes the container may use, e.g. 0-1.")
@click.option("--kernel-memory", metavar="BYTES", help="Ignored with a warning, as docker 28 does.")
@click.option("-m", "--memory", metavar="BYTES", help="Memory limit, e.g. 64m or 1g (at least 6m).")
@click.option("--memory-reservation", metavar="BYTES", help="Memory soft limit.")
@click.option("--memory-swap", metavar="BYTES", help="Memory plus swap limit (-1: unlimited swap).")
@click.option("--pids-limit", type=int, metavar="N", help="At most N processes (0 or -1: unlimited).")
@click.option("--restart", metavar="POLICY", help="Restart policy: no, on-failure[:N] or always.")
@click.argument("containers", nargs=-1, required=True)
def update(containers: tuple[str, ...], **flags: Any) -> None:
    """Change the limits and restart policy of containers, running or stopped: a running one gets
    the new limits at once, and every later start uses them."""
    from stdc.engine import live_update
    from stdc.engine.kernel_limits import LimitFlags

    limits = LimitFlags(**{name: flags.pop(name) for name in _LIMITS})
    changes = live_update.UpdateOptions(**flags, limits=limits)
    engine = current_engine()

    def act(ref: str) -> None:
        for warning in live_update.update(engine, ref, changes):
            click.echo(f"WARNING: {warning}", err=True)
        click.echo(ref)

    for_each(containers, act)
