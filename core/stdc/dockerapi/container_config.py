"""A container create body (``Config`` with ``HostConfig`` and ``NetworkingConfig``) as the
engine's :class:`~stdc.engine.options.RunOptions`.

Pure: no engine, no I/O. Every key stdc honours is mapped; a key it cannot honour with a value
that asks for something (not the zero value clients send for "unset") is a 400 naming the key,
never ignored. Some keys map onto :class:`RunOptions` fields that only some builds have (labels,
DNS, health checks...): while the field is missing the key is refused the same way.
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from stdc.dockerapi.request_kit import familiar
from stdc.dockerapi.status_codes import ApiError, bad_request
from stdc.engine.options import RunOptions
from stdc.errors import BadInput

#: Config keys that only describe what the client does, or that stdc's behaviour already matches
_CLIENT_SIDE = {"AttachStdin", "AttachStdout", "AttachStderr", "ArgsEscaped", "Image", "StdinOnce", "Shell"}
#: HostConfig keys whose value stdc's behaviour already is
_ALREADY_SO = {
    "ConsoleSize": None,
    "CgroupnsMode": {"", "private"},
    "IpcMode": {"", "private", "shareable"},
    "Isolation": {"", "default"},
    "Runtime": {""},
}


def _empty(value: Any) -> bool:
    return value in (None, "", 0, False) or value == [] or value == {} or value == [0, 0]


def _owner(opts: Any, path: str) -> tuple[Any, str] | None:
    """The object holding the field ``path`` (``"labels"``, or nested: ``"kernel.init"``) and
    the field's name; None where this build's RunOptions has no such field."""
    *parents, name = path.split(".")
    for part in parents:
        opts = getattr(opts, part, None)
        if opts is None or not dataclasses.is_dataclass(opts):
            return None
    if not any(f.name == name for f in dataclasses.fields(opts)):
        return None
    return opts, name


class _Builder:
    """Collects the options and remembers which keys were handled."""

    def __init__(self, image: str) -> None:
        self.opts = RunOptions(image=image)
        self.anonymous: list[str] = []  # Config.Volumes: clients list bind targets there too

    def add_anonymous(self) -> None:
        """The anonymous volumes: Config.Volumes that no bind or mount already serves."""
        targets = {v.split(":")[1] if ":" in v else v for v in self.opts.volumes}
        targets |= {t.split(":")[0] for t in self.opts.tmpfs}
        self.opts.volumes += [
            path for path in self.anonymous if path.rstrip("/") not in targets and path not in targets
        ]

    def set(self, key: str, path: str, value: Any) -> None:
        """``opts.<path> = value``, or a 400 naming ``key`` where this build's RunOptions lacks it."""
        found = _owner(self.opts, path)
        if found is None:
            raise bad_request(f"{key} is not supported by stdc yet")
        setattr(*found, value)

    def has(self, path: str) -> bool:
        """Whether this build's RunOptions has the field ``path``."""
        return _owner(self.opts, path) is not None


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{key} must be a list of strings")
    return list(value)


def _object(value: Any, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad_request(f"{key} must be a JSON object")
    return value


def _integer(value: Any, key: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{key} must be an integer")
    return value


def _duration(nanoseconds: Any, key: str) -> str | None:
    ns = _integer(nanoseconds, key)
    return f"{ns / 1e9:g}s" if ns else None


def _command(b: _Builder, config: dict) -> None:
    cmd = _strings(config.get("Cmd"), "Cmd")
    if "Entrypoint" in config and config["Entrypoint"] is not None:
        entrypoint = _strings(config["Entrypoint"], "Entrypoint")
        if entrypoint in ([], [""]):  # the image's entrypoint cleared: the command runs alone
            if not cmd:
                raise bad_request("no command given: Entrypoint is empty and Cmd too")
            entrypoint, cmd = cmd[:1], cmd[1:]
        b.opts.entrypoint = entrypoint[0]
        b.opts.command = entrypoint[1:] + cmd
    else:
        b.opts.command = cmd


def _healthcheck(b: _Builder, check: dict) -> None:
    test = _strings(check.get("Test"), "Healthcheck.Test")
    if test[:1] == ["NONE"]:
        b.set("Healthcheck", "no_healthcheck", True)
        return
    if test[:1] == ["CMD-SHELL"]:
        b.set("Healthcheck", "health_cmd", " ".join(test[1:]))
    elif test[:1] == ["CMD"]:
        b.set("Healthcheck", "health_cmd", shlex.join(test[1:]))
    elif test:
        raise bad_request(f"Healthcheck.Test must start with NONE, CMD or CMD-SHELL, not {test[0]!r}")
    for key, name in (
        ("Interval", "health_interval"),
        ("Timeout", "health_timeout"),
        ("StartPeriod", "health_start_period"),
        ("StartInterval", "health_start_interval"),
    ):
        if value := _duration(check.get(key), f"Healthcheck.{key}"):
            b.set(f"Healthcheck.{key}", name, value)
    if retries := _integer(check.get("Retries"), "Healthcheck.Retries"):
        b.set("Healthcheck.Retries", "health_retries", retries)


def _config(b: _Builder, config: dict) -> None:
    _command(b, config)
    handled = {"Cmd", "Entrypoint", *_CLIENT_SIDE}
    simple = {"WorkingDir": "workdir", "User": "user", "Hostname": "hostname", "Domainname": "domainname"}
    for key, name in simple.items():
        handled.add(key)
        value = config.get(key)
        if not _empty(value):
            if not isinstance(value, str):
                raise bad_request(f"{key} must be a string")
            b.set(key, name, value)
    b.opts.env = _strings(config.get("Env"), "Env")
    b.opts.tty = bool(config.get("Tty"))
    b.opts.interactive = bool(config.get("OpenStdin"))
    b.opts.expose = list(_object(config.get("ExposedPorts"), "ExposedPorts"))
    b.anonymous = list(_object(config.get("Volumes"), "Volumes"))
    handled |= {"Env", "Tty", "OpenStdin", "ExposedPorts", "Volumes"}
    if labels := _object(config.get("Labels"), "Labels"):
        b.set("Labels", "labels", [f"{k}={v}" for k, v in labels.items()])
    if check := _object(config.get("Healthcheck"), "Healthcheck"):
        _healthcheck(b, check)
    if signal := config.get("StopSignal"):
        b.set("StopSignal", "stop_signal", str(signal))
    if (timeout := config.get("StopTimeout")) is not None:
        b.set("StopTimeout", "stop_timeout", _integer(timeout, "StopTimeout"))
    handled |= {"Labels", "Healthcheck", "StopSignal", "StopTimeout"}
    _refuse_rest(config, handled, "")


def _mounts(b: _Builder, mounts: Any) -> None:
    if mounts is None:
        return
    if not isinstance(mounts, list):
        raise bad_request("HostConfig.Mounts must be a list")
    for m in mounts:
        m = _object(m, "HostConfig.Mounts[]")
        kind, source, target = m.get("Type", "volume"), m.get("Source") or "", m.get("Target") or ""
        if not target:
            raise bad_request("HostConfig.Mounts: a mount needs a Target")
        extra = {k: v for k, v in m.items() if k not in ("Type", "Source", "Target", "ReadOnly", "Consistency")}
        if kind == "tmpfs":
            size = _object(extra.pop("TmpfsOptions", None), "TmpfsOptions").get("SizeBytes")
            b.opts.tmpfs.append(f"{target}:size={size}" if size else target)
        elif kind in ("bind", "volume"):
            if kind == "bind" and not source:
                raise bad_request("HostConfig.Mounts: a bind mount needs a Source")
            options = extra.pop("BindOptions" if kind == "bind" else "VolumeOptions", None) or {}
            if any(not _empty(v) for v in _object(options, "mount options").values()):
                raise bad_request(f"HostConfig.Mounts: {kind} options {sorted(options)} are not supported by stdc")
            suffix = ":ro" if m.get("ReadOnly") else ""
            b.opts.volumes.append(f"{source}:{target}{suffix}" if source else target)
        else:
            raise bad_request(f"HostConfig.Mounts: mounts of type {kind!r} are not supported by stdc")
        if any(not _empty(v) for v in extra.values()):
            raise bad_request(f"HostConfig.Mounts: {sorted(extra)} not supported by stdc")


def _ports(b: _Builder, bindings: dict) -> None:
    for port, hosts in bindings.items():
        spec = port if "/" in port else f"{port}/tcp"
        for host in hosts or [{}]:
            host = _object(host, "PortBindings")
            ip, host_port = host.get("HostIp") or "", str(host.get("HostPort") or "")
            if ip:
                b.opts.publish.append(f"{ip}:{host_port}:{spec}")
            elif host_port:
                b.opts.publish.append(f"{host_port}:{spec}")
            else:
                b.opts.publish.append(spec)


def _network(b: _Builder, mode: Any, networking: dict) -> None:
    mode = mode or "default"
    if not isinstance(mode, str):
        raise bad_request("HostConfig.NetworkMode must be a string")
    if mode.startswith("container:"):
        raise bad_request("NetworkMode container:<name> is not supported by stdc")
    b.opts.network = None if mode == "default" else mode
    endpoints = _object(networking.get("EndpointsConfig"), "NetworkingConfig.EndpointsConfig")
    for name, endpoint in endpoints.items():
        endpoint = _object(endpoint, f"EndpointsConfig.{name}")
        if b.opts.network is None:
            b.opts.network = name
        elif name != b.opts.network:
            raise bad_request("a container is created on one network: connect it to the others after")
        aliases = _strings(endpoint.get("Aliases"), "Aliases")
        if aliases:
            b.set("EndpointsConfig.Aliases", "network_aliases", aliases)
        ipam = _object(endpoint.get("IPAMConfig"), "IPAMConfig")
        if ipam.get("IPv4Address"):
            b.set("IPAMConfig.IPv4Address", "ip", ipam["IPv4Address"])
        rest = {k: v for k, v in endpoint.items() if k not in ("Aliases", "IPAMConfig", "NetworkID", "EndpointID")}
        if any(not _empty(v) for v in rest.values()):
            raise bad_request(f"EndpointsConfig: {sorted(k for k, v in rest.items() if not _empty(v))} not supported")


def _resources(b: _Builder, host: dict) -> None:
    from stdc.engine import resources

    memory, swap = _integer(host.get("Memory"), "Memory"), _integer(host.get("MemorySwap"), "MemorySwap")
    nano, shares = _integer(host.get("NanoCpus"), "NanoCpus"), _integer(host.get("CpuShares"), "CpuShares")
    pids = host.get("PidsLimit")
    b.opts.resources = resources.build(
        memory=str(memory) if memory else None,
        memory_swap=("-1" if swap == -1 else str(swap)) if swap and memory else None,
        cpus=f"{nano / 1e9}" if nano else None,
        cpu_shares=shares or None,
        cpuset_cpus=host.get("CpusetCpus") or None,
        pids_limit=_integer(pids, "PidsLimit") if pids else None,
    )


def _restart(b: _Builder, policy: dict) -> None:
    from stdc.engine import resources

    name = policy.get("Name") or "no"
    count = _integer(policy.get("MaximumRetryCount"), "MaximumRetryCount")
    b.opts.restart = resources.parse_restart(f"{name}:{count}" if count else name, b.opts.auto_remove)


def _host(b: _Builder, host: dict, networking: dict) -> None:
    handled = set(_ALREADY_SO)
    for key, allowed in _ALREADY_SO.items():
        if allowed is not None and host.get(key) not in (None, *allowed):
            raise bad_request(f"HostConfig.{key}={host[key]!r} is not supported by stdc")
    b.opts.volumes += _strings(host.get("Binds"), "Binds")
    _mounts(b, host.get("Mounts"))
    b.opts.tmpfs += [f"{k}:{v}" if v else k for k, v in _object(host.get("Tmpfs"), "Tmpfs").items()]
    _ports(b, _object(host.get("PortBindings"), "PortBindings"))
    b.opts.publish_all = bool(host.get("PublishAllPorts"))
    _network(b, host.get("NetworkMode"), networking)
    b.opts.auto_remove = bool(host.get("AutoRemove"))
    _restart(b, _object(host.get("RestartPolicy"), "RestartPolicy"))
    _resources(b, host)
    b.opts.cap_add = _strings(host.get("CapAdd"), "CapAdd")
    b.opts.cap_drop = _strings(host.get("CapDrop"), "CapDrop")
    b.opts.privileged = bool(host.get("Privileged"))
    b.opts.security_opt = _strings(host.get("SecurityOpt"), "SecurityOpt")
    b.opts.read_only = bool(host.get("ReadonlyRootfs"))
    b.opts.userns = host.get("UsernsMode") or None
    for d in host.get("Devices") or []:
        d = _object(d, "Devices[]")
        b.opts.devices.append(
            ":".join(
                [
                    d.get("PathOnHost", ""),
                    d.get("PathInContainer") or d.get("PathOnHost", ""),
                    d.get("CgroupPermissions") or "rwm",
                ]
            )
        )
    handled |= {
        "Binds", "Mounts", "Tmpfs", "PortBindings", "PublishAllPorts", "NetworkMode", "AutoRemove", "RestartPolicy",
        "Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpusetCpus", "PidsLimit", "CapAdd", "CapDrop",
        "Privileged", "SecurityOpt", "ReadonlyRootfs", "UsernsMode", "Devices", "LogConfig",
    }  # fmt: skip
    log = _object(host.get("LogConfig"), "LogConfig")
    driver, log_opts = log.get("Type") or "", _object(log.get("Config"), "LogConfig.Config")
    if driver not in ("", "json-file") or log_opts:  # the default, json-file without options, is stdc's own
        b.set("HostConfig.LogConfig", "log_driver", driver or "json-file")
        b.set("HostConfig.LogConfig", "log_opts", [f"{k}={v}" for k, v in log_opts.items()])
    for key, name in (
        ("ExtraHosts", "add_hosts"),
        ("Dns", "dns"),
        ("DnsSearch", "dns_search"),
        ("DnsOptions", "dns_options"),
    ):
        handled.add(key)
        if values := _strings(host.get(key), f"HostConfig.{key}"):
            b.set(f"HostConfig.{key}", name, values)
    for key, path, convert in _KERNEL_KEYS:
        handled.add(key)
        if not _empty(host.get(key)) and not (key == "MemorySwappiness" and host[key] == -1):
            if key in _ALREADY_SO and not b.has(path):
                continue  # a value stdc's behaviour already is (checked above)
            b.set(f"HostConfig.{key}", path, convert(host[key]))
    _refuse_rest(host, handled, "HostConfig.")


def _ulimits(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise bad_request("HostConfig.Ulimits must be a list")
    return [f"{u['Name']}={u['Soft']}:{u['Hard']}" for u in (_object(u, "Ulimits[]") for u in value)]


def _sysctls(value: Any) -> list[str]:
    return [f"{k}={v}" for k, v in _object(value, "HostConfig.Sysctls").items()]


#: HostConfig keys -> the nested RunOptions field (``kernel.*``, ``limits.*``) and the value's form there
_KERNEL_KEYS = (
    ("Init", "kernel.init", bool),
    ("ShmSize", "kernel.shm_size", str),
    ("Ulimits", "kernel.ulimits", _ulimits),
    ("Sysctls", "kernel.sysctls", _sysctls),
    ("OomScoreAdj", "kernel.oom_score_adj", int),
    ("GroupAdd", "kernel.group_add", list),
    ("PidMode", "kernel.pid", str),
    ("IpcMode", "kernel.ipc", str),
    ("UTSMode", "kernel.uts", str),
    ("CgroupnsMode", "kernel.cgroupns", str),
    ("CgroupParent", "kernel.cgroup_parent", str),
    ("MemoryReservation", "limits.memory_reservation", str),
    ("MemorySwappiness", "limits.memory_swappiness", int),
    ("OomKillDisable", "limits.oom_kill_disable", bool),
    ("BlkioWeight", "limits.blkio_weight", int),
    ("CpuPeriod", "limits.cpu_period", int),
    ("CpuQuota", "limits.cpu_quota", int),
    ("CpuRealtimePeriod", "limits.cpu_rt_period", int),
    ("CpuRealtimeRuntime", "limits.cpu_rt_runtime", int),
    ("CpusetMems", "limits.cpuset_mems", str),
    ("DeviceCgroupRules", "limits.device_cgroup_rules", list),
)


def _refuse_rest(doc: dict, handled: set[str], where: str) -> None:
    for key, value in doc.items():
        if key not in handled and key not in ("HostConfig", "NetworkingConfig") and not _empty(value):
            raise bad_request(f"{where}{key} is not supported by stdc")


def run_options(body: Any, name: str | None = None) -> RunOptions:
    """The options of ``POST /containers/create``'s body (and its ``name`` parameter)."""
    if not isinstance(body, dict):
        raise bad_request("the container config must be a JSON object")
    image = body.get("Image")
    if not image or not isinstance(image, str):
        raise bad_request("Config.Image is required")
    b = _Builder(familiar(image))
    b.opts.name = name or None
    host = _object(body.get("HostConfig"), "HostConfig")
    b.opts.auto_remove = bool(host.get("AutoRemove"))  # before RestartPolicy is checked against it
    try:
        _config(b, body)
        _host(b, host, _object(body.get("NetworkingConfig"), "NetworkingConfig"))
        b.add_anonymous()
    except ApiError:
        raise
    except BadInput as e:
        raise bad_request(str(e)) from None
    except (TypeError, AttributeError, KeyError) as e:
        raise bad_request(f"invalid container config: {e}") from None
    return b.opts
