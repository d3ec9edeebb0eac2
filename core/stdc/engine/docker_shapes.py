"""Pure conversions of what stdc records into the pieces of Docker's documents: times, durations,
statuses, ports, users, devices and the Docker-named fields a container's record keeps.

No engine, no files: :mod:`stdc.engine.docker_documents` assembles the documents from these.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from stdc.errors import BadInput

if TYPE_CHECKING:
    from stdc.engine.options import RunOptions

#: Go's zero time, which docker writes for a time that never happened (a container never started)
ZERO_TIME = "0001-01-01T00:00:00Z"

#: the keys of Docker's container ``Config``; every other Docker-named key a record holds is a
#: ``HostConfig`` one (see :func:`docker_fields`)
CONFIG_KEYS = frozenset(
    {
        "Hostname",
        "Domainname",
        "User",
        "AttachStdin",
        "AttachStdout",
        "AttachStderr",
        "ExposedPorts",
        "Tty",
        "OpenStdin",
        "StdinOnce",
        "Env",
        "Cmd",
        "Healthcheck",
        "ArgsEscaped",
        "Image",
        "Volumes",
        "WorkingDir",
        "Entrypoint",
        "NetworkDisabled",
        "MacAddress",
        "OnBuild",
        "Labels",
        "StopSignal",
        "StopTimeout",
        "Shell",
    }  # fmt: skip
)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(value: str, now: float | None = None) -> float:
    """A point in time, in seconds since the epoch, from docker's ``--since``/``--until`` forms:
    a unix timestamp (``1700000000``, ``1700000000.5``), RFC 3339 (``2024-01-02T15:04:05Z``,
    with fractions or an offset; without a zone it is local time), a date (``2024-01-02``) or a
    Go duration before ``now`` (``10m``, ``1h30m``, ``90s``)."""
    now = time.time() if now is None else now
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if text and _DURATION.sub("", text) == "" and _DURATION.match(text):
        return now - sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
    iso = text.replace("z", "Z").replace("Z", "+00:00")
    iso = re.sub(r"(\.\d{6})\d+", r"\1", iso)  # Python reads microseconds, docker writes nanoseconds
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise BadInput(f"invalid time {value!r}: use RFC 3339, a unix timestamp or a duration like 10m") from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # docker reads a time without zone as local time
    return parsed.astimezone(UTC).timestamp()


def iso(ts: float | None) -> str:
    """A timestamp as docker writes one: RFC 3339 with nanoseconds, UTC; Go's zero time for None."""
    if not ts:
        return ZERO_TIME
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e9):09d}Z"


def duration(seconds: float) -> str:
    """A duration in docker's words (go-units HumanDuration): ``Less than a second``,
    ``5 seconds``, ``About a minute``, ``3 minutes``, ``About an hour``, ``30 hours``, ``4 days``,
    ``3 weeks``, ``5 months``, ``2 years``."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


def ago(ts: float | None, now: float | None = None) -> str:
    """``3 minutes ago`` (empty for None)."""
    return "" if ts is None else f"{duration((time.time() if now is None else now) - ts)} ago"


def state_name(status: str, paused: bool) -> str:
    """Docker's State.Status: created, running, paused, restarting, exited."""
    return "paused" if status == "running" and paused else status


def status_text(c: Any, health: str | None = None, now: float | None = None) -> str:
    """The /containers/json ``Status``: ``Up 5 seconds``, ``Up 2 minutes (Paused)``,
    ``Up 3 seconds (healthy)``, ``Exited (0) 3 minutes ago``, ``Restarting (1) 1 second ago``, ``Created``."""
    now = time.time() if now is None else now
    if c.status == "running":
        up = f"Up {duration(now - (c.started or now))}"
        if c.paused:
            return f"{up} (Paused)"
        if health == "starting":
            return f"{up} (health: starting)"
        return f"{up} ({health})" if health in ("healthy", "unhealthy") else up
    if c.status == "restarting":
        return f"Restarting ({c.exit_code}) {ago(c.finished, now)}"
    if c.status == "exited":
        code = "unknown" if c.exit_code is None else c.exit_code
        return f"Exited ({code}) {ago(c.finished, now)}"
    return c.status.capitalize()


def port_key(port: dict) -> str:
    """``80/tcp`` of a published port as stdc records it (``container_port``, ``protocol``)."""
    return f"{port['container_port']}/{port.get('protocol') or 'tcp'}"


def port_bindings(ports: list[dict], any_address: str = "") -> dict[str, list[dict]]:
    """``HostConfig.PortBindings`` (asked) or ``NetworkSettings.Ports`` (bound, ``any_address``
    ``0.0.0.0``): ``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``; a port asked without a
    host port has ``HostPort ""``."""
    found: dict[str, list[dict]] = {}
    for p in ports:
        host_port = p.get("host_port") or ""
        binding = {"HostIp": p.get("host_ip") or any_address, "HostPort": str(host_port)}
        found.setdefault(port_key(p), []).append(binding)
    return found


def port_list(ports: list[dict]) -> list[dict]:
    """The /containers/json ``Ports``: ``[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080,
    "Type": "tcp"}]``."""
    return [
        {
            "IP": p.get("host_ip") or "0.0.0.0",
            "PrivatePort": int(p["container_port"]),
            "PublicPort": int(p.get("host_port") or 0),
            "Type": p.get("protocol") or "tcp",
        }
        for p in ports
    ]


def device_entry(value: str) -> dict:
    """``--device HOST[:CONT[:rwm]]`` as HostConfig.Devices holds it."""
    parts = value.split(":")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1] else host
    if len(parts) == 2 and set(parts[1]) <= set("rwm") and not parts[1].startswith("/"):
        inside, permissions = host, parts[1]
    else:
        permissions = parts[2] if len(parts) > 2 else "rwm"
    return {"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": permissions}


def record_fields(opts: RunOptions, entrypoint: list[str], cmd: list[str], image_config: dict) -> dict[str, Any]:
    """What ``create`` keeps in a container's record under Docker's own names, beside stdc's:
    the keys of Config and HostConfig a Docker-shaped ``inspect`` shows as they were asked."""
    exposed = dict.fromkeys(image_config.get("ExposedPorts") or {}, {})
    for value in opts.expose:
        exposed[value if "/" in value else f"{value}/tcp"] = {}
    return {
        "Entrypoint": entrypoint or None,
        "Cmd": cmd or None,
        "User": opts.user or image_config.get("User") or "",
        "Tty": opts.tty,
        "OpenStdin": opts.interactive,
        "ExposedPorts": exposed or None,
        "Volumes": image_config.get("Volumes") or None,
        "Binds": list(opts.volumes) or None,
        "CapAdd": list(opts.cap_add) or None,
        "CapDrop": list(opts.cap_drop) or None,
        "Privileged": opts.privileged,
        "SecurityOpt": list(opts.security_opt) or None,
        "ReadonlyRootfs": opts.read_only,
        "PublishAllPorts": opts.publish_all,
        "Devices": [device_entry(d) for d in opts.devices],
        "UsernsMode": opts.userns or "",
    }


def docker_fields(config: dict) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Docker-named keys of a record's config (those starting with a capital), split into
    ``(Config keys, HostConfig keys)``: how an option a verb stores under Docker's name reaches
    ``inspect`` with no code here."""
    mine: dict[str, Any] = {}
    host: dict[str, Any] = {}
    for key, value in config.items():
        if key[:1].isupper():
            (mine if key in CONFIG_KEYS else host)[key] = value
    return mine, host


def user_text(user: dict) -> str:
    """A record's parsed user (``uid``/``username``, ``gid``/``groupname``) written as ``-u`` takes it."""
    name = user.get("username") or str(user.get("uid", ""))
    group = user.get("groupname") or (str(user["gid"]) if "gid" in user else "")
    if name in ("", "0") and group in ("", "0"):
        return ""
    return f"{name}:{group}" if group and group != name else name


def resources_host_config(resources: dict) -> dict[str, Any]:
    """HostConfig's resource fields from the spec's ``linux.resources`` a record keeps."""
    memory, cpu = resources.get("memory") or {}, resources.get("cpu") or {}
    quota, period = cpu.get("quota"), cpu.get("period")
    return {
        "CpuShares": cpu.get("shares", 0),
        "Memory": memory.get("limit", 0),
        "NanoCpus": int(quota * 1e9 / period) if quota and period else 0,
        "CpuPeriod": 0,  # --cpus is NanoCpus; a verb storing --cpu-period/--cpu-quota names them itself
        "CpuQuota": 0,
        "CpusetCpus": cpu.get("cpus", ""),
        "CpusetMems": cpu.get("mems", ""),
        "MemoryReservation": memory.get("reservation", 0),
        "MemorySwap": memory.get("swap", 0),
        "MemorySwappiness": memory.get("swappiness"),
        "OomKillDisable": bool(memory.get("disableOOMKiller", False)),
        "PidsLimit": (resources.get("pids") or {}).get("limit"),
        "BlkioWeight": (resources.get("blockIO") or {}).get("weight", 0),
    }
