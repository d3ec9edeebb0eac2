"""The configuration flags of ``run``/``create`` (issue 17 §2): environment and label files,
annotations, health checks, /etc/hosts and DNS, stop signal and timeout, the network address,
logging, pulls, and docker's flags stdc accepts only in their default form. Checked by
:mod:`stdc.engine.run_config`.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import click

from stdc.errors import BadInput

#: the flags whose values click gives as tuples: RunOptions wants lists
LIST_FIELDS = (
    "env_files",
    "labels",
    "label_files",
    "annotations",
    "add_hosts",
    "dns",
    "dns_search",
    "dns_options",
    "network_aliases",
    "links",
    "link_local_ip",
    "log_opts",
    "attach",
)

_DURATION = "DURATION"


def run_config_options() -> list[Any]:
    """The click options, in the order ``run --help`` lists them."""
    many = {"multiple": True}
    return [
        click.option("--env-file", "env_files", **many, metavar="FILE", help="Read K=V lines (and K alone) as -e."),
        click.option("-l", "--label", "labels", **many, metavar="K[=V]", help="Set a label on the container."),
        click.option("--label-file", "label_files", **many, metavar="FILE", help="Read K=V lines as labels."),
        click.option("--annotation", "annotations", **many, metavar="K=V", help="An annotation of the OCI spec."),
        click.option("--health-cmd", metavar="CMD", help="Command (run by sh -c) that checks the container's health."),
        click.option("--health-interval", metavar=_DURATION, help="Time between checks (ms|s|m|h; default 30s)."),
        click.option("--health-retries", type=int, metavar="N", help="Failures in a row that make it unhealthy (3)."),
        click.option("--health-timeout", metavar=_DURATION, help="Longest a check may run (default 30s)."),
        click.option("--health-start-period", metavar=_DURATION, help="Start time whose failures do not count (0s)."),
        click.option("--health-start-interval", metavar=_DURATION, help="Time between checks while starting (5s)."),
        click.option("--no-healthcheck", is_flag=True, help="Run no health check, not even the image's HEALTHCHECK."),
        click.option("--add-host", "add_hosts", **many, metavar="HOST:IP", help="Add to /etc/hosts (host-gateway ok)."),
        click.option("--dns", **many, metavar="IP", help="A DNS server for the container's resolv.conf."),
        click.option("--dns-search", **many, metavar="DOMAIN", help="A DNS search domain ('.': none)."),
        click.option("--dns-option", "dns_options", **many, metavar="OPT", help="A resolv.conf option (ndots:2)."),
        click.option("--domainname", metavar="NAME", help="The container's NIS domain name."),
        click.option("--stop-signal", metavar="SIGNAL", help="Signal `stop` sends first (default: image's, SIGTERM)."),
        click.option("--stop-timeout", type=int, metavar="SECONDS", help="`stop`'s default wait (10; -1: for ever)."),
        click.option("--cidfile", metavar="FILE", help="Write the container's id to FILE (which must not exist)."),
        click.option("--platform", metavar="OS/ARCH", help="Only the host's platform (e.g. linux/amd64) is accepted."),
        click.option(
            "--pull",
            default="missing",
            show_default=True,
            metavar="always|missing|never",
            help="Pull the image before creating: always, when missing, or never.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No pull progress."),
        click.option("--net", "net_alias", metavar="NAME", hidden=True),
        click.option("--network-alias", "network_aliases", **many, metavar="NAME", help="Another name on the network."),
        click.option("--ip", metavar="IPV4", help="The container's address on a user network."),
        click.option("--ip6", metavar="IPV6", help="Refused: stdc's networks are IPv4 only."),
        click.option("--mac-address", metavar="MAC", help="The MAC address of the container's interface."),
        click.option("--link", "links", **many, metavar="NAME[:ALIAS]", help="A hosts entry for a running container."),
        click.option("--link-local-ip", **many, metavar="IP", help="Refused: stdc gives no link-local addresses."),
        click.option("--log-driver", metavar="DRIVER", help="json-file (default), local (json-file too) or none."),
        click.option("--log-opt", "log_opts", **many, metavar="K=V", help="max-size=SIZE, max-file=N: rotation."),
        click.option("-a", "--attach", **many, metavar="STREAM", help="Attach only STDIN, STDOUT or STDERR."),
        click.option(
            "--sig-proxy",
            type=click.BOOL,
            default=True,
            is_flag=False,
            flag_value=True,
            metavar="[=false]",
            help="Pass signals on to the payload (run; default true).",
        ),
        click.option("--runtime", metavar="EXECUTOR", help="The executor to run it with (native, lxc...)."),
        click.option("--isolation", metavar="default", help="Only 'default' (Linux has no other)."),
        click.option(
            "--disable-content-trust",
            type=click.BOOL,
            is_flag=False,
            flag_value=True,
            metavar="[=BOOL]",
            help="Accepted; stdc verifies no image signatures.",
        ),
        click.option("--gpus", metavar="REQUEST", help="Refused: stdc has no GPU support."),
        click.option("--volume-driver", metavar="local", help="Only 'local'."),
        click.option("--use-api-socket", is_flag=True, help="Refused: not mounted into containers yet."),
    ]


def take_run_config_options(kw: dict) -> dict:
    """Pop the configuration flags out of ``kw``: RunOptions fields, ``--net`` folded into
    ``network``. ``--cidfile``, ``--quiet``, ``--sig-proxy`` and ``--disable-content-trust``
    stay with the front end."""
    net = kw.pop("net_alias")
    if net is not None:
        if kw.get("network") not in (None, net):
            raise BadInput("conflicting options: --net and --network name different networks")
        kw["network"] = net
    return {key: list(kw.pop(key)) for key in LIST_FIELDS}


@contextlib.contextmanager
def cidfile(path: str | None) -> Any:
    """``--cidfile``: refused when the file exists (docker's words), made before the container;
    yields the function that writes the id, and removes the file when creating fails."""
    if path is None:
        yield lambda _id: None
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise BadInput(
            f"Container ID file found, make sure the other container isn't running or delete {path}"
        ) from None
    except OSError as e:
        raise BadInput(f"--cidfile {path}: {e.strerror}") from None
    try:
        yield lambda cid: os.write(fd, cid.encode())
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)


def pull_progress(image: str, quiet: bool) -> Any:
    """What the pull of an absent image says on stderr, as docker's run does (nothing with -q)."""
    if quiet:
        return None
    said: set[str] = set()

    def progress(what: str, done: int, total: int) -> None:
        if not said:
            click.echo(f"Unable to find image '{image}' locally", err=True)
            said.add("")
        if done >= total and what not in said:
            said.add(what)
            click.echo(f"{what}: Pull complete", err=True)

    return progress
