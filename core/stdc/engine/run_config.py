"""The configuration options of ``run``/``create`` (issue 17 §2) checked the way docker checks them
and turned into the container record's fields, named after docker's Config and HostConfig keys:
``Labels``, ``Annotations``, ``Healthcheck``, ``StopSignal``, ``StopTimeout``, ``ExtraHosts``,
``Dns``, ``DnsSearch``, ``DnsOptions``, ``Domainname``, ``Links``, ``NetworkAliases``,
``IPAddress``, ``MacAddress``, ``LogConfig``, ``Runtime``, ``Platform``, ``Attach``.

Everything here is pure (files named by the options are read) and runs before anything is
created: bad input changes nothing.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from stdc.durations import parse_duration
from stdc.engine.options import signal_number
from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.options import RunOptions

#: docker's container names (daemon/names: RestrictedNamePattern); a leading "/" is dropped
NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
#: docker's defaults of a health check's durations (nanoseconds) and retries
HEALTH_DEFAULTS = {"Interval": 30 * 10**9, "Timeout": 30 * 10**9, "StartPeriod": 0, "StartInterval": 5 * 10**9}
HEALTH_RETRIES = 3
#: docker's floor for a non-zero health duration (1 ms)
MIN_HEALTH_DURATION = 10**6
LOG_DRIVERS = ("json-file", "local", "none")
LOG_OPTS = ("max-size", "max-file")
ATTACHABLE = ("stdin", "stdout", "stderr")

_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")
_HOSTNAME = re.compile(r"[a-zA-Z0-9_]([a-zA-Z0-9_.-]*[a-zA-Z0-9_])?")


def container_name(name: str | None) -> str | None:
    """``--name``, checked as docker checks it (``/web`` is ``web``)."""
    if name is None:
        return None
    bare = name[1:] if name.startswith("/") else name
    if not NAME_PATTERN.fullmatch(bare):
        raise BadInput(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return bare


def read_line_file(path: str, flag: str) -> list[str]:
    """The entries of an ``--env-file``/``--label-file``: lines without comments (``#``) and
    blank lines, leading whitespace trimmed (docker's opts.ParseEnvFile)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise BadInput(f"{flag} {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{flag} {path}: not UTF-8 text") from None
    return [line.lstrip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def env_from_files(paths: list[str]) -> list[str]:
    """``--env-file``: ``K=V`` lines, or ``K`` alone for the host's value (skipped when unset)."""
    env = []
    for path in paths:
        for line in read_line_file(path, "--env-file"):
            key, has_value, value = line.partition("=")
            if not key or any(ch.isspace() for ch in key):
                raise BadInput(f"--env-file {path}: variable {key!r} contains whitespaces")
            if has_value:
                env.append(f"{key}={value}")
            elif key in os.environ:
                env.append(f"{key}={os.environ[key]}")
    return env


def _key_values(entries: list[str], flag: str) -> dict[str, str]:
    found = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        if not key:
            raise BadInput(f"invalid {flag} {entry!r}: expected KEY[=VALUE]")
        found[key] = value
    return found


def labels(image_labels: dict | None, files: list[str], given: list[str]) -> dict[str, str]:
    """The container's Labels: the image's, then ``--label-file`` entries, then ``--label``."""
    from_files = [line for path in files for line in read_line_file(path, "--label-file")]
    return {**(image_labels or {}), **_key_values(from_files, "--label"), **_key_values(given, "--label")}


def annotations(given: list[str]) -> dict[str, str]:
    """``--annotation KEY=VALUE``: passed through to the OCI spec's annotations."""
    for entry in given:
        if "=" not in entry:
            raise BadInput(f"invalid --annotation {entry!r}: expected KEY=VALUE")
    return _key_values(given, "--annotation")


def healthcheck(opts: RunOptions, image_check: dict | None) -> dict | None:
    """Docker's Healthcheck (``Test``, durations in nanoseconds, ``Retries``): the flags over the
    image's HEALTHCHECK, zero fields inherited from it; ``{"Test": ["NONE"]}`` for none."""
    durations = {
        "Interval": ("--health-interval", opts.health_interval),
        "Timeout": ("--health-timeout", opts.health_timeout),
        "StartPeriod": ("--health-start-period", opts.health_start_period),
        "StartInterval": ("--health-start-interval", opts.health_start_interval),
    }
    asked_any = opts.health_cmd is not None or opts.health_retries is not None
    asked_any = asked_any or any(v is not None for _, v in durations.values())
    if opts.no_healthcheck:
        if asked_any:
            raise BadInput("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    check: dict[str, Any] = dict(image_check or {})
    if opts.health_cmd is not None:
        check["Test"] = ["CMD-SHELL", opts.health_cmd] if opts.health_cmd else []
    for key, (flag, value) in durations.items():
        if value is None:
            continue
        ns = parse_duration(value, flag)
        if 0 < ns < MIN_HEALTH_DURATION:
            raise BadInput(f"{flag} cannot be less than 1ms")
        if ns:
            check[key] = ns
    if opts.health_retries is not None:
        if opts.health_retries < 0:
            raise BadInput("--health-retries cannot be negative")
        if opts.health_retries:
            check["Retries"] = opts.health_retries
    if not check.get("Test"):
        if asked_any and image_check is None:
            raise BadInput("--health-* options need --health-cmd (the image has no HEALTHCHECK)")
        return None
    return check


def health_timing(check: dict) -> dict:
    """A Healthcheck with docker's defaults filled in (durations in nanoseconds)."""
    timing = {key: check.get(key) or default for key, default in HEALTH_DEFAULTS.items()}
    timing["Retries"] = check.get("Retries") or HEALTH_RETRIES
    return timing


def stop_signal(asked: str | None, image_signal: str | None) -> str | None:
    """``--stop-signal`` over the image's STOPSIGNAL, checked (by name or number)."""
    chosen = asked or image_signal
    if chosen is not None:
        signal_number(chosen)
    return chosen


def stop_timeout(asked: int | None) -> int | None:
    """``--stop-timeout`` seconds (-1: wait for ever, as docker)."""
    if asked is not None and asked < -1:
        raise BadInput(f"invalid --stop-timeout {asked}: seconds, or -1 to wait without limit")
    return asked


def extra_hosts(entries: list[str]) -> list[str]:
    """``--add-host HOST:IP`` (or ``HOST=IP``; ``host-gateway`` for the network's gateway), as
    docker stores them: ``HOST:IP``."""
    if not entries:
        return []
    import ipaddress  # ~1.5 ms: only for the flags that need it

    found = []
    for entry in entries:
        sep = "=" if "=" in entry else ":"
        host, _, ip = entry.partition(sep)
        ip = ip.strip("[]")
        if not host or not _HOSTNAME.fullmatch(host) or not ip:
            raise BadInput(f"invalid --add-host {entry!r}: expected HOST:IP")
        if ip != "host-gateway":
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise BadInput(f"invalid --add-host {entry!r}: {ip!r} is not an IP address") from None
        found.append(f"{host}:{ip}")
    return found


def dns_servers(entries: list[str]) -> list[str]:
    """``--dns``: IP addresses."""
    if not entries:
        return []
    import ipaddress  # ~1.5 ms: only for the flags that need it

    for entry in entries:
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            raise BadInput(f"invalid --dns {entry!r}: not an IP address") from None
    return list(entries)


def dns_search(entries: list[str]) -> list[str]:
    """``--dns-search``: domains (``.`` alone: no search domains)."""
    for entry in entries:
        if entry != "." and (len(entry) > 255 or not _HOSTNAME.fullmatch(entry.rstrip("."))):
            raise BadInput(f"invalid --dns-search {entry!r}: not a domain name")
    return list(entries)


def dns_options(entries: list[str]) -> list[str]:
    """``--dns-option``: resolv.conf options (``ndots:2``, ``edns0``), no blanks."""
    for entry in entries:
        if not entry or any(ch.isspace() for ch in entry):
            raise BadInput(f"invalid --dns-option {entry!r}")
    return list(entries)


def domainname(value: str | None) -> str | None:
    """``--domainname``: the container's NIS domain name."""
    if value is not None and (len(value) > 64 or not _HOSTNAME.fullmatch(value)):
        raise BadInput(f"invalid --domainname {value!r}")
    return value


def links(entries: list[str]) -> list[str]:
    """``--link NAME[:ALIAS]`` as docker stores them: ``NAME:ALIAS``."""
    found = []
    for entry in entries:
        name, _, alias = entry.partition(":")
        name = name.lstrip("/")
        if not NAME_PATTERN.fullmatch(name) or (alias and not _HOSTNAME.fullmatch(alias)):
            raise BadInput(f"invalid --link {entry!r}: expected NAME[:ALIAS]")
        found.append(f"{name}:{alias or name}")
    return found


def addresses(opts: RunOptions, network: str) -> dict[str, Any]:
    """``--ip``, ``--ip6``, ``--mac-address``, ``--network-alias`` and ``--link-local-ip`` on the
    container's network ``network``."""
    if opts.ip is not None or opts.ip6 is not None:
        import ipaddress  # ~1.5 ms: only for the flags that need it
    user_network = network not in ("bridge", "none", "host")
    if opts.ip is not None:
        try:
            ipaddress.IPv4Address(opts.ip)
        except ValueError:
            raise BadInput(f"invalid --ip {opts.ip!r}: not an IPv4 address") from None
        if not user_network:
            raise BadInput("--ip: user specified IP address is supported on user defined networks only")
    if opts.ip6 is not None:
        try:
            ipaddress.IPv6Address(opts.ip6)
        except ValueError:
            raise BadInput(f"invalid --ip6 {opts.ip6!r}: not an IPv6 address") from None
        raise BadInput(f"--ip6: network {network} has no IPv6 (stdc's networks are IPv4 only)")
    if opts.link_local_ip:
        raise BadInput("--link-local-ip: stdc's networks give no link-local addresses")
    if opts.mac_address is not None:
        if not _MAC.fullmatch(opts.mac_address) or int(opts.mac_address[:2], 16) & 1:
            raise BadInput(f"invalid --mac-address {opts.mac_address!r}: a unicast MAC like 92:d0:c6:0a:29:33")
        if network in ("none", "host"):
            raise BadInput(f"--mac-address: the {network} network gives the container no interface")
    if opts.network_aliases and not user_network:
        raise BadInput("--network-alias: network-scoped aliases are supported for user defined networks only")
    for alias in opts.network_aliases:
        if not _HOSTNAME.fullmatch(alias):
            raise BadInput(f"invalid --network-alias {alias!r}")
    return {
        "IPAddress": opts.ip,
        "MacAddress": opts.mac_address.lower() if opts.mac_address else None,
        "NetworkAliases": list(opts.network_aliases),
    }


def log_config(driver: str | None, log_opts: list[str]) -> dict:
    """``--log-driver`` (``json-file``, ``local``: json-file too, ``none``) and ``--log-opt
    max-size=SIZE``/``max-file=N`` (rotation), as docker's LogConfig."""
    from stdc.engine.resources import parse_size

    driver = driver or "json-file"
    if driver not in LOG_DRIVERS:
        raise BadInput(f"unknown --log-driver {driver!r}: stdc has {', '.join(LOG_DRIVERS)}")
    config = _key_values(log_opts, "--log-opt")
    for key, value in config.items():
        if key not in LOG_OPTS:
            raise BadInput(f"unknown log opt {key!r} for {driver} log driver: stdc has {', '.join(LOG_OPTS)}")
        if key == "max-size" and parse_size(value, "--log-opt max-size") <= 0:
            raise BadInput("--log-opt max-size must be a positive size")
        if key == "max-file" and (not value.isdigit() or int(value) < 1):
            raise BadInput(f"invalid --log-opt max-file {value!r}: a number of files, at least 1")
    if driver == "none" and config:
        raise BadInput("the none log driver takes no --log-opt")
    if "max-file" in config and int(config["max-file"]) > 1 and "max-size" not in config:
        raise BadInput("--log-opt max-file needs max-size as well")
    return {"Type": driver, "Config": config}


def rotation(log: dict) -> tuple[int, int] | None:
    """The (bytes, files) a LogConfig rotates the log at, None when it never does."""
    from stdc.engine.resources import parse_size

    size = (log.get("Config") or {}).get("max-size")
    if size is None:
        return None
    return parse_size(size, "max-size"), int(log["Config"].get("max-file", "1"))


def attach_streams(asked: list[str], detach: bool, interactive: bool = False) -> list[str]:
    """``-a``: which of stdin, stdout and stderr a foreground run attaches (default: output and
    errors, and input with ``-i``)."""
    streams = [s.lower() for s in asked]
    for s in streams:
        if s not in ATTACHABLE:
            raise BadInput(f"invalid argument {s!r} for -a: STDIN, STDOUT or STDERR")
    if streams and detach:
        raise BadInput("Conflicting options: -a and -d")
    return streams or (["stdin"] if interactive else []) + ["stdout", "stderr"]


def check_platform(value: str | None) -> str | None:
    """``--platform``: the host's (``linux``, ``linux/amd64``...); another is refused."""
    if value is None:
        return None
    host = host_platform()
    parts = value.lower().split("/")
    wanted_os, arch = parts[0], parts[1] if len(parts) > 1 else host.split("/")[1]
    if wanted_os != "linux" or _ARCH_ALIASES.get(arch, arch) != host.split("/")[1] or len(parts) > 3:
        raise BadInput(f"--platform {value}: stdc runs only the host's platform ({host})")
    return value


_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}


def host_platform() -> str:
    """The host's platform as OCI names it: ``linux/amd64``, ``linux/arm64``."""
    machine = os.uname().machine.lower()
    return f"linux/{_ARCH_ALIASES.get(machine, machine)}"


def refuse_unsupported(opts: RunOptions, executors: list[str]) -> None:
    """The options stdc accepts only in their default form, or not at all: one line each."""
    if opts.gpus is not None:
        raise BadInput("--gpus: stdc has no GPU support")
    if opts.use_api_socket:
        raise BadInput("--use-api-socket: stdc does not mount its Docker API socket into containers yet")
    if opts.isolation not in (None, "", "default"):
        raise BadInput(f"--isolation {opts.isolation}: only 'default' is supported on Linux")
    if opts.volume_driver not in (None, "", "local"):
        raise BadInput(f"--volume-driver {opts.volume_driver}: stdc has the local volume driver only")
    if opts.runtime is not None and opts.runtime not in executors:
        raise BadInput(f"unknown or invalid runtime name: {opts.runtime} (stdc's executors: {', '.join(executors)})")
    if opts.pull not in ("missing", "always", "never"):
        raise BadInput(f"invalid --pull {opts.pull!r}: missing, always or never")


def record_fields(opts: RunOptions, image_config: dict, network: str) -> dict[str, Any]:
    """Every configuration option checked, as the container record's docker-named fields."""
    return {
        "Labels": labels(image_config.get("Labels"), opts.label_files, opts.labels),
        "Annotations": annotations(opts.annotations),
        "Healthcheck": healthcheck(opts, image_config.get("Healthcheck")),
        "StopSignal": stop_signal(opts.stop_signal, image_config.get("StopSignal")),
        "StopTimeout": stop_timeout(opts.stop_timeout),
        "ExtraHosts": extra_hosts(opts.add_hosts),
        "Dns": dns_servers(opts.dns),
        "DnsSearch": dns_search(opts.dns_search),
        "DnsOptions": dns_options(opts.dns_options),
        "Domainname": domainname(opts.domainname),
        "Links": links(opts.links),
        **addresses(opts, network),
        "LogConfig": log_config(opts.log_driver, opts.log_opts),
        "Platform": check_platform(opts.platform),
        "Attach": attach_streams(opts.attach, detach=False, interactive=opts.interactive),
    }
