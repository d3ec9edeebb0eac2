"""The rows ``ps`` and ``images`` give a ``--format`` template: docker's formatter contexts
(``cli/command/formatter/container.go`` and ``image.go`` of docker/cli), field by field, made from
the engine's Docker-shaped summaries (:mod:`stdc.engine.docker_documents`)."""

from __future__ import annotations

import time
from typing import Any

from stdc.cli import formatting
from stdc.cli.format_output import label_method

#: docker's default ``ps`` table
PS_TABLE = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
#: the column titles of docker's container context
PS_TITLES = {
    "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
    "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS",
    "HealthStatus": "HEALTH STATUS", "IPAddresses": "IP ADDRESSES",
}  # fmt: skip
#: stdc's default ``images`` table: docker's, and the storage drivers that hold each image unpacked
IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.Drivers}}"
IMAGES_TITLES = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE",
    "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "Drivers": "DRIVERS",
}  # fmt: skip


def go_time(ts: float) -> str:
    """A unix time as Go's ``time.Time.String()`` writes it in local time:
    ``2021-03-10 00:15:05 +0100 CET``."""
    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(ts))


def ellipsis(text: str, width: int) -> str:
    """docker's ``formatter.Ellipsis``: at most ``width`` characters, the last one ``…``."""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 1 else text[:width]


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` for the printable text of a command line."""
    import json

    return json.dumps(text, ensure_ascii=False)


def displayable_ports(ports: list[dict]) -> str:
    """docker's ``DisplayablePorts``: ``0.0.0.0:8080->80/tcp, 9000-9001/tcp``."""
    ordered = sorted(ports, key=lambda p: (p["PrivatePort"], p.get("IP") or "", p.get("PublicPort") or 0, p["Type"]))
    groups: dict[str, list[int]] = {}
    mappings = []
    result = []
    for p in ordered:
        current, key = p["PrivatePort"], p["Type"]
        if p.get("IP"):
            if p.get("PublicPort") != current:
                host = f"[{p['IP']}]" if ":" in p["IP"] else p["IP"]
                mappings.append(f"{host}:{p['PublicPort']}->{current}/{p['Type']}")
                continue
            key = f"{p['IP']}/{p['Type']}"
        group = groups.get(key)
        if group is None:
            groups[key] = [current, current]
        elif current == group[1] + 1:
            group[1] = current
        else:
            result.append(_port_group(key, *group))
            groups[key] = [current, current]
    result += [_port_group(key, *group) for key, group in groups.items()]
    return ", ".join(result + mappings)


def _port_group(key: str, first: int, last: int) -> str:
    ip, _, kind = key.rpartition("/")
    ports = str(first) if first == last else f"{first}-{last}"
    return f"{ip}:{ports}->{ports}/{kind}" if ip else f"{ports}/{kind}"


def container_row(s: dict, trunc: bool = True) -> dict[str, Any]:
    """One ``/containers/json`` entry as docker's ContainerContext shows it to a template."""
    labels = s.get("Labels") or {}
    names = [n.lstrip("/") for n in s["Names"]]
    mounts = [m.get("Name") or m.get("Source", "") for m in s.get("Mounts") or []]
    networks = s.get("NetworkSettings", {}).get("Networks") or {}
    health = _health(s["Status"])
    addresses = sorted(f"{name}/{n['IPAddress']}" for name, n in networks.items() if n.get("IPAddress"))
    size = formatting.size(s.get("SizeRw") or 0)
    if s.get("SizeRootFs"):
        size = f"{size} (virtual {formatting.size(s['SizeRootFs'])})"
    return {
        "ID": s["Id"][:12] if trunc else s["Id"],
        "Image": s["Image"] or "<no image>",
        "Command": go_quote(ellipsis(s["Command"], 20) if trunc else s["Command"]),
        "CreatedAt": go_time(s["Created"]),
        "RunningFor": formatting.ago(s["Created"]),
        "Ports": displayable_ports(s.get("Ports") or []),
        "State": s["State"],
        "Status": s["Status"],
        "Size": size,
        "Names": names[0] if trunc else ",".join(names),
        "Labels": ",".join(sorted(f"{k}={v}" for k, v in labels.items())),
        "Label": label_method(labels),
        "Mounts": ",".join(ellipsis(m, 15) if trunc else m for m in mounts),
        "LocalVolumes": str(sum(1 for m in s.get("Mounts") or [] if m.get("Driver") == "local")),
        "Networks": ",".join(networks),
        "HealthStatus": health,
        "IPAddresses": addresses,
    }


def _health(status: str) -> str:
    _, sep, rest = status.partition("(")
    if not sep or not rest.endswith(")"):
        return ""
    word = rest[:-1].removeprefix("health: ")
    return word if word in ("healthy", "unhealthy", "starting") else ""


def image_rows(s: dict, tags: list[str], trunc: bool = True, drivers: dict | None = None) -> list[dict[str, Any]]:
    """One ImageSummary as docker's ImageContext rows: one per tag (``tags``, those a
    ``reference`` filter left), or one ``<none>:<none>`` row for an untagged image."""
    image_id = s["Id"].split(":")[-1][:12] if trunc else s["Id"]
    digests = {d.partition("@")[0]: d.partition("@")[2] for d in s.get("RepoDigests") or []}
    rows = []
    for tag in tags or ["<none>:<none>"]:
        repository, _, name = tag.rpartition(":") if ":" in tag.rpartition("/")[2] else (tag, "", "<none>")
        rows.append(
            {
                "ID": image_id,
                "Repository": repository,
                "Tag": name,
                "Digest": digests.get(repository, "<none>"),
                "CreatedSince": formatting.ago(s["Created"]) if s["Created"] else "N/A",
                "CreatedAt": go_time(s["Created"]),
                "Size": formatting.size(s["Size"]),
                "Containers": "N/A" if s.get("Containers", -1) < 0 else str(s["Containers"]),
                "SharedSize": "N/A" if s.get("SharedSize", -1) < 0 else formatting.size(s["SharedSize"]),
                "UniqueSize": "N/A" if s.get("SharedSize", -1) < 0 else formatting.size(s["Size"] - s["SharedSize"]),
                "VirtualSize": formatting.size(s.get("VirtualSize") or s["Size"]),
                "Drivers": ",".join((drivers or {}).get(tag, [])) or "-",
            }
        )
    return rows
