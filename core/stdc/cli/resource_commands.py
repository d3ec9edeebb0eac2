"""Resources: the limit flags of ``run``/``create``, ``stats`` and ``top``."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from stdc.cli.format_output import format_option
from stdc.cli.group import cli, current_engine, unknown_exits_1

if TYPE_CHECKING:
    from stdc.engine import Container, Engine

#: flag name -> keyword of :func:`stdc.engine.resources.build`
_FLAGS = ("memory", "memory_swap", "cpus", "cpu_shares", "cpuset_cpus", "pids_limit")


def resource_options(f: Any) -> Any:
    """The resource flags of ``run`` and ``create`` (docker's names and meanings)."""
    options = [
        click.option("-m", "--memory", metavar="BYTES", help="Memory limit, e.g. 64m or 1g (at least 6m)."),
        click.option(
            "--memory-swap",
            metavar="BYTES",
            help="Memory plus swap limit (needs -m; -1: unlimited swap; default: twice -m).",
        ),
        click.option("--cpus", metavar="N", help="CPUs the container may use, e.g. 0.5 (a CFS quota)."),
        click.option("--cpu-shares", type=int, metavar="N", help="Relative CPU weight (default 1024)."),
        click.option("--cpuset-cpus", metavar="LIST", help="CPUs the container may run on, e.g. 0-1 or 0,2."),
        click.option("--pids-limit", type=int, metavar="N", help="At most N processes (0 or -1: unlimited)."),
        click.option(
            "--restart",
            metavar="POLICY",
            help="When the container exits: no (default), on-failure[:N] or always (not after a stop/kill).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def take_resource_options(kw: dict) -> dict:
    """Pop the resource flags out of ``kw``: the RunOptions fields ``resources`` and ``restart``."""
    from stdc.engine import resources

    asked = {name: kw.pop(name) for name in _FLAGS}
    return {
        "resources": resources.build(**{k: v for k, v in asked.items() if v is not None}),
        "restart": resources.parse_restart(kw.pop("restart"), kw.get("auto_remove", False)),
    }


def _binary(n: float) -> str:
    """Bytes in docker's binary units: ``1.5MiB``, ``64MiB``, ``23.5GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.4g}{unit}"
        n /= 1024
    return f"{n}B"  # pragma: no cover


def _sample(engine: Engine, containers: list[Container]) -> dict[str, tuple[float, dict]]:
    from stdc.engine import containers as verbs

    found = {}
    for c in containers:
        usage = verbs.stats(engine, c.id) if c.running else None
        if usage is not None:
            found[c.id] = (time.monotonic(), usage)
    return found


#: stdc's default ``stats`` table: docker's, less the network and block I/O it does not measure
STATS_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.PIDs}}"
STATS_TITLES = {
    "ID": "CONTAINER ID", "Name": "NAME", "Container": "CONTAINER", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}  # fmt: skip


def _stats_rows(engine: Engine, containers: list[Container], interval: float, names: dict[str, str]) -> list[dict]:
    """docker's stats rows (``.Container`` is the name or id as asked, else the short id)."""
    first = _sample(engine, containers)
    time.sleep(interval)
    second = _sample(engine, containers)
    rows = []
    for c in containers:
        row = {
            "ID": c.short_id,
            "Name": c.name,
            "Container": names.get(c.id, c.short_id),
            "NetIO": "--",
            "BlockIO": "--",
        }
        if c.id not in first or c.id not in second:
            rows.append({**row, "CPUPerc": "--", "MemUsage": "-- / --", "MemPerc": "--", "PIDs": "--"})
            continue
        (t0, u0), (t1, u1) = first[c.id], second[c.id]
        cpu = 100.0 * (u1["cpu_ns"] - u0["cpu_ns"]) / max(1.0, (t1 - t0) * 1e9)
        mem, limit = u1["memory"], u1["memory_limit"]
        row.update(
            CPUPerc=f"{cpu:.2f}%",
            MemUsage=f"{_binary(mem)} / {_binary(limit)}",
            MemPerc=f"{100.0 * mem / limit:.2f}%" if limit else "--",
            PIDs=str(u1["pids"]),
        )
        rows.append(row)
    return rows


@cli.command()
@click.option("--no-stream", is_flag=True, help="Print one sample and exit (else refresh every second).")
@click.option("-a", "--all", "all_", is_flag=True, help="Show stopped containers too.")
@click.option("--no-trunc", is_flag=True, help="Full container ids.")
@format_option()
@click.argument("containers", nargs=-1)
def stats(no_stream: bool, all_: bool, no_trunc: bool, fmt: str | None, containers: tuple[str, ...]) -> None:
    """Show CPU, memory and process counts of running containers (all, or those named).

    CPU % is over the last second: 100% is one whole CPU. Memory is what the container's
    cgroup uses without reclaimable page cache, against its limit (or the host's memory).
    """
    from stdc.cli import gotemplate
    from stdc.engine import containers as verbs

    engine = current_engine()
    with unknown_exits_1():
        asked = {verbs.get(engine, ref).id: ref for ref in containers}
    named = list(asked)
    chosen_format = STATS_TABLE if not fmt or fmt.strip() == "table" else fmt
    while True:
        found = verbs.list_containers(engine, all=bool(named) or all_)
        by_id = {c.id: c for c in found}
        chosen = [by_id[i] for i in named if i in by_id] if named else found
        rows = _stats_rows(engine, chosen, 1.0, asked)
        if no_trunc:
            for row, c in zip(rows, chosen, strict=True):
                row["ID"] = c.id
        text = gotemplate.render_rows(chosen_format, rows, titles=STATS_TITLES).rstrip("\n")
        if no_stream:
            click.echo(text)
            return
        click.echo("\033[2J\033[H" + text)  # clear the screen, like docker's live view
        sys.stdout.flush()


@cli.command(context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
def top(container: str, ps_args: tuple[str, ...]) -> None:
    """Show the processes of a running container: the host's `ps` (default `ps -ef`, or the
    options given after the container) limited to the processes in the container's cgroup."""
    import subprocess

    from stdc.engine import containers as verbs
    from stdc.errors import StdcError

    with unknown_exits_1():
        pids = set(verbs.processes(current_engine(), container))
    try:
        # -p: the container's processes are selected whatever else the options select: without
        # -e, ps picks only the caller's terminal's processes, and a container's have none
        selected = ["-p", ",".join(map(str, sorted(pids)))] if pids else []
        out = subprocess.run(["ps", *(ps_args or ("-ef",)), *selected], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise StdcError("top needs ps (procps) on the host") from None
    if out.returncode != 0:
        raise StdcError(f"ps failed: {' '.join(out.stderr.split())}")
    lines = out.stdout.splitlines()
    header = lines[0].split() if lines else []
    if "PID" not in header:
        raise StdcError("Couldn't find PID field in ps output")
    column = header.index("PID")
    click.echo(lines[0])
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column].isdigit() and int(fields[column]) in pids:
            click.echo(line)
