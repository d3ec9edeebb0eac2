"""Containers, images, networks and volumes as the Docker Engine API describes them: the documents
``inspect`` and ``--format`` show and the Docker API returns (ContainerInspect, the
``/containers/json`` entry, ImageInspect, ImageSummary, Network, Volume).

Built from the records and the verbs' data only. A container's record keeps what docker names
under docker's own keys (``Labels``, ``CapAdd``, ``Ulimits``, ...): :func:`docker_shapes.docker_fields`
puts each into ``Config`` or ``HostConfig``, so an option a verb stores that way appears here
without a change to this module.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from stdc.engine import docker_shapes, monitor
from stdc.engine.docker_objects import (
    image_inspect,
    image_summaries,
    image_summary,
    info_document,
    network_inspect,
    version_document,
    volume_inspect,
)
from stdc.engine.docker_shapes import ZERO_TIME, iso
from stdc.errors import StdcError
from stdc.kit import netns

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container

__all__ = [
    "container_inspect",
    "container_summaries",
    "container_summary",
    "image_inspect",
    "image_summaries",
    "image_summary",
    "info_document",
    "network_inspect",
    "version_document",
    "volume_inspect",
]


# -- containers ---------------------------------------------------------------------------------


def container_inspect(engine: Engine, name: str, size: bool = False) -> dict:
    """The container ``name`` (name, id or unique id prefix) as the API's ContainerInspect
    (``size``: with SizeRw and SizeRootFs)."""
    return inspect_record(engine, engine.container(name), size=size)


def inspect_record(engine: Engine, c: Container, size: bool = False) -> dict:
    """ContainerInspect of a record brought up to date (``size``: SizeRw and SizeRootFs too)."""
    cfg = c.config
    args = list(cfg.get("args") or [])
    files = os.path.join(engine.bundle(c), "network")
    own_files = os.path.isdir(files)
    doc: dict[str, Any] = {
        "Id": c.id,
        "Created": iso(c.created),
        "Path": args[0] if args else "",
        "Args": args[1:],
        "State": _state(engine, c),
        "Image": c.image_id,
        "ResolvConfPath": os.path.join(files, "resolv.conf") if own_files else "",
        "HostnamePath": os.path.join(files, "hostname") if own_files else "",
        "HostsPath": os.path.join(files, "hosts") if own_files else "",
        "LogPath": os.path.join(engine.bundle(c), monitor.LOG_FILE),
        "Name": "/" + c.name,
        "RestartCount": c.restart_count,
        "Driver": c.backends.get("storage", ""),
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": host_config(engine, c),
        "GraphDriver": {"Name": c.backends.get("storage", ""), "Data": _graph_data(engine, c)},
    }
    if size:
        doc["SizeRw"], doc["SizeRootFs"] = _sizes(engine, c)
    doc["Mounts"] = mounts(c)
    doc["Config"] = container_config(c)
    doc["NetworkSettings"] = network_settings(engine, c, _network_ids(engine))
    return doc


def _state(engine: Engine, c: Container) -> dict:
    state: dict[str, Any] = {
        "Status": docker_shapes.state_name(c.status, c.paused),
        "Running": c.running,
        "Paused": c.running and c.paused,
        "Restarting": c.status == "restarting",
        "OOMKilled": c.oom_killed,
        "Dead": False,
        "Pid": (c.pid or 0) if c.running else 0,
        "ExitCode": c.exit_code or 0,
        "Error": "",
        "StartedAt": iso(c.started),
        "FinishedAt": iso(c.finished) if not c.running else ZERO_TIME,
    }
    health = read_health(engine, c)
    if health is not None:
        state["Health"] = health
    return state


def read_health(engine: Engine, c: Container) -> dict | None:
    """The container's State.Health (``Status``, ``FailingStreak``, ``Log``), if it has a health check."""
    from stdc.engine import health

    return health.shown(health.state(engine, c))


def container_config(c: Container) -> dict:
    """Docker's container ``Config``: what the payload runs with."""
    cfg = c.config
    mine, _ = docker_shapes.docker_fields(cfg)
    labels = mine.pop("Labels", None) or cfg.get("labels") or {}
    args = list(cfg.get("args") or [])
    document = {
        "Hostname": cfg.get("hostname") or c.short_id,
        "Domainname": "",
        "User": docker_shapes.user_text(cfg.get("user") or {}),
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "ExposedPorts": None,
        "Tty": False,
        "OpenStdin": bool(cfg.get("interactive")),
        "StdinOnce": False,
        "Env": list(cfg.get("env") or []),
        "Cmd": args or None,  # records made before Entrypoint/Cmd were kept: the whole command line
        "Image": c.image,
        "Volumes": None,
        "WorkingDir": cfg.get("cwd") or "",
        "Entrypoint": None,
        "OnBuild": None,
        "Labels": labels,
    }
    document.update(mine)
    return document


def host_config(engine: Engine, c: Container) -> dict:
    """Docker's ``HostConfig``: the options in force, the security ones included."""
    cfg = c.config
    _, asked = docker_shapes.docker_fields(cfg)
    network = (cfg.get("network") or {}).get("name") or c.backends.get("net", "none")
    tmpfs = {m["Destination"]: m.get("Mode", "") for m in cfg.get("mounts") or [] if m.get("Type") == "tmpfs"}
    spec_linux = _spec(engine, c).get("linux") or {}
    document: dict[str, Any] = {
        "Binds": None,
        "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": network,
        "PortBindings": docker_shapes.port_bindings((cfg.get("network") or {}).get("publish") or []),
        "RestartPolicy": c.restart_policy,
        "AutoRemove": bool(cfg.get("auto_remove")),
        "VolumeDriver": "",
        "VolumesFrom": None,
        "ConsoleSize": [0, 0],
        "CapAdd": None,
        "CapDrop": None,
        "CgroupnsMode": "private",
        "Dns": [],
        "DnsOptions": [],
        "DnsSearch": [],
        "ExtraHosts": None,
        "GroupAdd": None,
        "IpcMode": "private",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": 0,
        "PidMode": "",
        "Privileged": False,
        "PublishAllPorts": False,
        "ReadonlyRootfs": False,
        "SecurityOpt": None,
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": 67108864,
        "Runtime": c.backends.get("exec", ""),
        "Isolation": "",
        **docker_shapes.resources_host_config(cfg.get("resources") or {}),
        "CgroupParent": "",
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "Devices": [],
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "Ulimits": [],
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": spec_linux.get("maskedPaths") or [],
        "ReadonlyPaths": spec_linux.get("readonlyPaths") or [],
    }
    if tmpfs:
        document["Tmpfs"] = tmpfs
    document.update(cfg.get("host_config") or {})  # the kernel-level flags, under Docker's names
    document.update(asked)
    return document


def _spec(engine: Engine, c: Container) -> dict:
    try:
        spec, _ = engine.run_files(c)
    except (OSError, ValueError):
        return {}
    return spec


def _graph_data(engine: Engine, c: Container) -> dict:
    """The storage driver's directories of the container, as overlay names them
    (``LowerDir``, ``UpperDir``, ``WorkDir``) where its mounts say, and ``MergedDir``."""
    data = {"MergedDir": os.path.join(engine.bundle(c), "rootfs")}
    with contextlib.suppress(OSError, ValueError):
        _, root_mounts = engine.run_files(c)
        for mount in root_mounts:
            for option in mount.options:
                key, _, value = option.partition("=")
                if key in ("lowerdir", "upperdir", "workdir"):
                    data[{"lowerdir": "LowerDir", "upperdir": "UpperDir", "workdir": "WorkDir"}[key]] = value
    return data


def _sizes(engine: Engine, c: Container) -> tuple[int, int]:
    from stdc.engine import pruning

    rw = pruning.writable_size(engine, c) or 0
    image_size = 0
    with contextlib.suppress(StdcError):
        image_size = engine.store.resolve(c.image_id).size
    return rw, rw + image_size


def mounts(c: Container) -> list[dict]:
    """Docker's ``Mounts``: binds, volumes and tmpfs mounts of the container."""
    keys = ("Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation")
    return [{k: m[k] for k in keys if k in m} for m in c.config.get("mounts") or []]


def _network_ids(engine: Engine) -> dict[str, str]:
    from stdc.engine import networks

    try:
        return {n["Name"]: n.get("Id") or n["Name"] for n in networks.list_networks(engine)}
    except StdcError:
        return {}


def network_settings(engine: Engine, c: Container, network_ids: dict[str, str]) -> dict:
    """Docker's ``NetworkSettings``: the network the container is on, its address and bound ports."""
    info = c.network if c.running else {}
    name = (c.config.get("network") or {}).get("name") or c.backends.get("net", "none")
    on_default = name == "bridge"
    endpoint = _endpoint(c, info, network_ids.get(name, ""), user_network=not on_default and name not in netns.BUILTIN)
    ns_path = netns.path(engine.config.runtime_dir, c.id)
    return {
        "Bridge": info.get("bridge", "") if on_default else "",
        "SandboxID": c.id if info else "",
        "SandboxKey": ns_path if info else "",
        "Ports": docker_shapes.port_bindings(info.get("ports") or [], "0.0.0.0"),
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        "EndpointID": endpoint["EndpointID"] if on_default else "",
        "Gateway": endpoint["Gateway"] if on_default else "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "IPAddress": endpoint["IPAddress"] if on_default else "",
        "IPPrefixLen": endpoint["IPPrefixLen"] if on_default else 0,
        "IPv6Gateway": "",
        "MacAddress": endpoint["MacAddress"] if on_default else "",
        "Networks": {name: endpoint},
    }


def _endpoint(c: Container, info: dict, network_id: str, user_network: bool) -> dict:
    """One entry of ``NetworkSettings.Networks`` (an EndpointSettings).

    On a user network, ``Aliases`` ends with the short id, as docker (before 26) has it:
    docker-compose 1.x reads that as "already connected with its aliases" and otherwise
    disconnects and reconnects every container it creates."""
    aliases = [*(c.config.get("NetworkAliases") or []), c.short_id] if user_network else None
    return {
        "IPAMConfig": None,
        "Links": None,
        "Aliases": aliases,
        "MacAddress": info.get("mac", ""),
        "DriverOpts": None,
        "GwPriority": 0,
        "NetworkID": network_id,
        "EndpointID": info.get("veth", ""),  # the host end of the container's link names the endpoint
        "Gateway": info.get("gateway", ""),
        "IPAddress": info.get("ip", ""),
        "IPPrefixLen": int(info.get("prefixlen") or 0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": [c.name, c.short_id] if info else None,
    }


def container_summary(
    engine: Engine, c: Container, size: bool = False, network_ids: dict[str, str] | None = None
) -> dict:
    """A record as an entry of ``GET /containers/json`` (``size``: SizeRw and SizeRootFs too)."""
    cfg = c.config
    health = read_health(engine, c)
    settings = network_settings(engine, c, network_ids or {})
    ports = (c.network.get("ports") or []) if c.running else []
    summary: dict[str, Any] = {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": c.image,
        "ImageID": c.image_id,
        "Command": " ".join(cfg.get("args") or []),
        "Created": int(c.created),
        "Ports": docker_shapes.port_list(ports),
        "Labels": container_config(c)["Labels"],
        "State": docker_shapes.state_name(c.status, c.paused),
        "Status": docker_shapes.status_text(c, (health or {}).get("Status")),
        "HostConfig": {"NetworkMode": next(iter(settings["Networks"]))},
        "NetworkSettings": {"Networks": settings["Networks"]},
        "Mounts": mounts(c),
    }
    if size:
        summary["SizeRw"], summary["SizeRootFs"] = _sizes(engine, c)
    return summary


def container_summaries(engine: Engine, all: bool = False, size: bool = False) -> list[dict]:
    """Every running container (``all``: every one) as ``GET /containers/json`` lists them, newest first."""
    from stdc.engine import containers

    found = containers.list_containers(engine, all=all)
    ids = _network_ids(engine) if found else {}
    return [container_summary(engine, c, size=size, network_ids=ids) for c in found]
