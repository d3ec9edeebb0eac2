"""The options of ``run``/``create`` (:class:`RunOptions`), and the pure parsing every verb's
options share (environment, user, signals, ``--tail``, times).

A front end (the CLI, the daemon, the coming Docker API) fills the options from its own syntax;
the verbs check them before anything is made. A verb with options of its own keeps them beside
it: :class:`stdc.engine.execs.ExecOptions`, :class:`stdc.engine.logs.LogOptions`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from stdc.engine.kernel_limits import LimitFlags
from stdc.engine.kernel_options import KernelFlags
from stdc.errors import BadInput


@dataclass
class RunOptions:
    """What ``stdc run`` / ``create`` was asked for."""

    image: str
    command: list[str] = field(default_factory=list)
    name: str | None = None
    env: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    entrypoint: str | None = None
    auto_remove: bool = False
    network: str | None = None
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    expose: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)
    read_only: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    security_opt: list[str] = field(default_factory=list)
    resources: dict = field(default_factory=dict)  # linux.resources, see stdc.engine.resources.build
    restart: dict | None = None  # docker's RestartPolicy, see stdc.engine.resources.parse_restart
    userns: str | None = None
    devices: list[str] = field(default_factory=list)
    interactive: bool = False
    tty: bool = False
    # kernel-level options (issue 17 §2)
    kernel: KernelFlags = field(default_factory=KernelFlags)  # ulimits, sysctls, namespaces, --init, ...
    limits: LimitFlags = field(default_factory=LimitFlags)  # cgroup flags beyond -m/--cpus
    mounts: list[str] = field(default_factory=list)  # --mount, docker's csv syntax
    volumes_from: list[str] = field(default_factory=list)  # CONTAINER[:ro|rw]
    # configuration options (issue 17 §2), checked by stdc.engine.run_config
    env_files: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    label_files: list[str] = field(default_factory=list)
    annotations: list[str] = field(default_factory=list)
    health_cmd: str | None = None
    health_interval: str | None = None  # Go durations, as typed
    health_retries: int | None = None
    health_timeout: str | None = None
    health_start_period: str | None = None
    health_start_interval: str | None = None
    no_healthcheck: bool = False
    add_hosts: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    domainname: str | None = None
    stop_signal: str | None = None
    stop_timeout: int | None = None
    platform: str | None = None
    pull: str = "missing"
    network_aliases: list[str] = field(default_factory=list)
    ip: str | None = None
    ip6: str | None = None
    mac_address: str | None = None
    links: list[str] = field(default_factory=list)
    link_local_ip: list[str] = field(default_factory=list)
    log_driver: str | None = None
    log_opts: list[str] = field(default_factory=list)
    attach: list[str] = field(default_factory=list)
    runtime: str | None = None
    isolation: str | None = None
    gpus: str | None = None
    volume_driver: str | None = None
    use_api_socket: bool = False


def merge_env(base: list[str], overrides: list[str]) -> list[str]:
    """``base`` (``K=V`` entries) with ``-e`` values on top; ``-e NAME`` takes the host's value."""
    merged = dict(item.split("=", 1) if "=" in item else (item, "") for item in base)
    for item in overrides:
        if "=" in item:
            key, value = item.split("=", 1)
        elif item in os.environ:
            key, value = item, os.environ[item]
        else:
            continue  # docker: -e NAME with NAME unset on the host sets nothing
        if not key:
            raise BadInput(f"invalid environment variable: {item!r}")
        merged[key] = value
    return [f"{k}={v}" for k, v in merged.items()]


def parse_user(value: str) -> dict:
    """``-u``: ``UID[:GID]`` numbers, or names resolved inside the container by the executor."""
    user, _, group = value.partition(":")
    if not user:
        raise BadInput(f"invalid user {value!r}")
    spec: dict[str, Any] = {}
    if user.isdigit():
        spec["uid"] = int(user)
    else:
        spec["username"] = user
    if group.isdigit():
        spec["gid"] = int(group)
    elif group:
        spec["groupname"] = group
    elif "uid" in spec:
        spec["gid"] = 0 if spec["uid"] == 0 else spec["uid"]
    return spec


def with_terminal_env(env: list[str], tty: bool) -> list[str]:
    """``TERM=xterm`` for a payload on a terminal that sets no TERM, as docker does."""
    if tty and not any(e.startswith("TERM=") for e in env):
        return [*env, "TERM=xterm"]
    return env


def parse_tail(value: str) -> int | None:
    """``--tail``: a number of lines, or ``all`` (None)."""
    if value == "all":
        return None
    if not value.isdigit():
        raise BadInput(f"--tail takes a number or 'all', not {value!r}")
    return int(value)


def signal_number(name: str) -> int:
    """``-s``: a signal by number, or by name with or without ``SIG`` (any case)."""
    import signal

    if name.isdigit():
        return int(name)
    key = name.upper() if name.upper().startswith("SIG") else "SIG" + name.upper()
    try:
        return int(signal.Signals[key])
    except KeyError:
        raise BadInput(f"invalid signal: {name}") from None


def iso_time(ts: float | None) -> str | None:
    """A timestamp as docker writes one in ``inspect``: RFC 3339 with nanoseconds, UTC."""
    if ts is None:
        return None
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e9):09d}Z"
