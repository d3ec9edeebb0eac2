"""Networks: a container's network brought up before its start and down after its end, and the
network verbs (create, list, inspect, remove, prune, a container's published ports).

Named networks belong to the network provider (``--net``; while that is ``none`` or ``host``,
the default provider). ``none`` and ``host`` are the core's and always listed; a network some
container's record names is refused removal.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from stdc.errors import BadInput, Conflict, NotFound, StdcError
from stdc.kit import netns

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.options import RunOptions
    from stdc.engine.state import Container

BUILTIN_NETWORKS = [
    {"Name": "host", "Id": "host", "Driver": "host", "Subnet": "", "Gateway": "", "Containers": {}},
    {"Name": "none", "Id": "none", "Driver": "null", "Subnet": "", "Gateway": "", "Containers": {}},
]


def provider(engine: Engine, name: str | None = None) -> tuple[Any, dict]:
    """The provider serving named networks (``--net``, or the default one when that is
    ``none`` or ``host``) and the arguments every one of its hooks takes."""
    from stdc.config import DEFAULT_NETWORK_PROVIDER

    name = name or engine.config.backends["net"]
    if name in netns.BUILTIN:
        name = DEFAULT_NETWORK_PROVIDER
    return engine.backend("net", name), {"home": engine.home("net", name), "settings": engine.config.network}


# -- a container's network ----------------------------------------------------------------------


def choose(engine: Engine, requested: str | None, names: dict) -> dict:
    """The network a new container joins (``--network``, else the ``--net`` provider's own);
    sets ``names["net"]`` to the provider, or to ``none``/``host``.

    Where ``--net`` is the built-in default and its provider is not installed or not usable
    here, a container that names no network runs on ``none``; ``fallback`` then says why (for
    ``-p``, which has nothing to publish on)."""
    network = requested or names["net"]
    if network in netns.BUILTIN:
        names["net"] = network
        return {"name": network}
    try:
        serving, args = provider(engine, names["net"])
    except StdcError as e:
        if requested is not None or "net" not in engine.config.defaulted:
            raise
        names["net"] = "none"
        return {"name": "none", "fallback": f"the default network {network} is not available here ({e})"}
    names["net"] = serving.name
    if not any(n["Name"] == network for n in serving.hook.net_list(**args)):
        raise NotFound(f"no such network: {network}")
    return {"name": network}


def published_ports(opts: RunOptions, image_config: dict, network: dict) -> list[dict]:
    """The ports ``-p``/``-P`` publish, checked free on the host; takes back :func:`choose`'s
    ``fallback``."""
    fallback = network.pop("fallback", None)
    if not (opts.publish or opts.publish_all):
        return []
    ports = netns.publish_list(opts.publish, opts.publish_all, image_config, opts.expose)
    if ports and fallback:
        raise BadInput(f"cannot publish ports: {fallback}")
    if ports and network["name"] in netns.BUILTIN:
        raise BadInput(f"cannot publish ports of a container on the {network['name']!r} network")
    netns.check_free(ports)
    return ports


#: the record fields of the container's /etc files and address, which need a provider's network
_PROVIDER_SETTINGS = {
    "ExtraHosts": "--add-host",
    "Dns": "--dns",
    "DnsSearch": "--dns-search",
    "DnsOptions": "--dns-option",
    "Links": "--link",
}


def check_settings(engine: Engine, network: str, fields: dict) -> None:
    """Refuse the /etc files' options (``--add-host``, ``--dns``...) on ``none`` and ``host``,
    whose containers get no /etc files from stdc, and a ``--link`` to no container."""
    if network in netns.BUILTIN:
        for key, flag in _PROVIDER_SETTINGS.items():
            if fields.get(key):
                raise BadInput(f"{flag}: the {network} network gives the container no /etc files of stdc's")
    for link in fields.get("Links") or []:
        try:
            engine.state.get(link.partition(":")[0])
        except NotFound:
            raise BadInput(f"--link: no such container: {link.partition(':')[0]}") from None


def _setup_options(engine: Engine, c: Container) -> dict:
    """What ``net_setup`` is told of the container's /etc files and address (see stdc.specs.network)."""
    config = c.config
    hosts = list(config.get("ExtraHosts") or [])
    for link in config.get("Links") or []:
        name, _, alias = link.partition(":")
        try:
            target = engine.container(name)
        except NotFound:
            raise BadInput(f"--link: no such container: {name}") from None
        if not target.running or not target.network.get("ip"):
            raise Conflict(f"--link: container {name} is not running on a network")
        hosts.append(f"{' '.join(dict.fromkeys([alias, target.name]))}:{target.network['ip']}")
    return {
        "extra_hosts": hosts,
        "dns": config.get("Dns") or [],
        "dns_search": config.get("DnsSearch") or [],
        "dns_options": config.get("DnsOptions") or [],
        "aliases": config.get("NetworkAliases") or [],
        "ip": config.get("IPAddress"),
        "mac": config.get("MacAddress"),
    }


def files_dir(engine: Engine, c: Container) -> str:
    """Where the provider writes the container's /etc/hosts, /etc/resolv.conf and /etc/hostname."""
    return os.path.join(engine.bundle(c), "network")


def up(engine: Engine, c: Container) -> None:
    """Give a container on a provider's network its namespace, configured, before it starts."""
    if c.backends["net"] in netns.BUILTIN:
        return
    down(engine, c)  # what a start that failed half-way may have left
    serving, args = provider(engine, c.backends["net"])
    ns_path = netns.path(engine.config.runtime_dir, c.id)
    os.makedirs(files_dir(engine, c), mode=0o755, exist_ok=True)
    netns.create(ns_path)
    try:
        asked = c.config["network"]
        options = {
            "network": asked["name"],
            "publish": asked.get("publish", []),
            "name": c.name,
            "hostname": c.config["hostname"] or c.short_id,
            **_setup_options(engine, c),
        }
        info = serving.hook.net_setup(
            **args, container_id=c.id, netns_path=ns_path, files_dir=files_dir(engine, c), options=options
        )
    except BaseException:
        netns.remove(ns_path)
        raise
    engine.state.update(c.id, network=info)
    c.network = info
    engine.record("network", "connect", asked["name"], {"name": asked["name"], "container": c.id})


def down(engine: Engine, c: Container) -> None:
    """Undo :func:`up` (idempotent; nothing to do costs a stat)."""
    ns_path = netns.path(engine.config.runtime_dir, c.id)
    if c.backends["net"] in netns.BUILTIN or not (c.network or os.path.lexists(ns_path)):
        return
    serving, args = provider(engine, c.backends["net"])
    serving.hook.net_teardown(**args, container_id=c.id, netns_path=ns_path, info=c.network)
    netns.remove(ns_path)
    network = (c.config.get("network") or {}).get("name", c.backends["net"])
    engine.record("network", "disconnect", network, {"name": network, "container": c.id})
    engine.state.update(c.id, network={})
    c.network = {}


# -- the network verbs --------------------------------------------------------------------------


def list_networks(engine: Engine) -> list[dict]:
    """Every network: the provider's (when it is installed), then the built-in ones."""
    try:
        serving, args = provider(engine)
    except StdcError:
        return [dict(n) for n in BUILTIN_NETWORKS]
    return serving.hook.net_list(**args) + [dict(n) for n in BUILTIN_NETWORKS]


def inspect(engine: Engine, names: list[str]) -> list[dict]:
    """The networks ``names``, as ``network inspect`` shows them."""
    known = {n["Name"]: n for n in list_networks(engine)}
    missing = [name for name in names if name not in known]
    if missing:
        raise NotFound(f"no such network: {missing[0]}")
    return [known[name] for name in names]


def create(engine: Engine, name: str, subnet: str | None = None, labels: dict[str, str] | None = None) -> str:
    """Create a network (with ``labels``, which its documents show and ``--filter label=`` finds);
    return its id."""
    serving, args = provider(engine)
    if name in netns.BUILTIN:
        raise Conflict(f"network {name} already exists")
    options = {"labels": dict(labels)} if labels else {}
    network_id = serving.hook.net_create(**args, name=name, subnet=subnet, options=options)["Id"]
    engine.record("network", "create", network_id, {"name": name, "type": "bridge"})
    return network_id


def used_by(engine: Engine) -> dict[str, list[str]]:
    """Network name -> names of the containers (any state) whose records name it."""
    found: dict[str, list[str]] = {}
    for c in engine.state.all():
        found.setdefault((c.config.get("network") or {}).get("name", c.backends.get("net")), []).append(c.name)
    return found


def remove(engine: Engine, name: str) -> None:
    """Remove a network no container uses."""
    serving, args = provider(engine)
    if name in netns.BUILTIN:
        raise Conflict(f"{name} is a built-in network: it cannot be removed")
    users = used_by(engine).get(name)
    if users:
        raise Conflict(f"network {name} is used by container(s) {', '.join(sorted(users))}: remove them first")
    network_id = _ids(engine).get(name, name)
    serving.hook.net_remove(**args, name=name)
    engine.record("network", "destroy", network_id, {"name": name, "type": "bridge"})


def prune(engine: Engine) -> list[str]:
    """Remove every network no container uses (the default one stays); return their names."""
    serving, args = provider(engine)
    ids = _ids(engine)
    removed = serving.hook.net_prune(**args, in_use=sorted(used_by(engine)))
    for name in removed:
        engine.record("network", "destroy", ids.get(name, name), {"name": name, "type": "bridge"})
    return removed


def _ids(engine: Engine) -> dict[str, str]:
    """Network name -> id, for the events of a removal (connect and disconnect, on every run's
    path, name the network by its name instead: no provider call)."""
    return {n["Name"]: n.get("Id") or n["Name"] for n in list_networks(engine)}


def ports(engine: Engine, ref: str, private_port: str | None = None) -> list[dict]:
    """The running container's published ports; with ``PORT[/PROTO]``, only where that one is."""
    c = engine.container(ref)
    found = c.network.get("ports", []) if c.running else []
    if private_port is None:
        return list(found)
    number, _, protocol = private_port.partition("/")
    found = [p for p in found if str(p["container_port"]) == number and p["protocol"] == (protocol or "tcp")]
    if not found:
        raise NotFound(f"no public port {number}/{protocol or 'tcp'} published for {c.name}")
    return found
