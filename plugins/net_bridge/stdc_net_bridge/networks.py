"""What the hooks do: a container joins or leaves a network, networks are made and removed.

Per network, every change (an address leased or released, the bridge made, the hosts files
of its containers rewritten) happens under the network's lock; the set of networks (names,
subnets) changes under the lock ``*``. pyroute2 is imported before a lock is taken, so
parallel runs do not queue behind one another's import.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from stdc.errors import Conflict, NotFound
from stdc.kit.netns import bind_ports

from stdc_net_bridge import ports
from stdc_net_bridge.store import DEFAULT, Store

#: docker's fallback when the host's resolv.conf names only loopback resolvers
FALLBACK_DNS = ["8.8.8.8", "8.8.4.4"]
_HOSTS_HEAD = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""


def setup(home: str, settings: dict, container_id: str, netns_path: str, files_dir: str, options: dict) -> dict:
    from stdc_net_bridge import link

    st = Store(home, settings)
    name = options["network"]
    bound = bind_ports(options.get("publish") or [])  # a taken port fails before anything is made
    published = [p for _, p in bound]
    lease = {
        "container": container_id,
        "netns": netns_path,
        "name": options.get("name") or container_id[:12],
        "hostname": options.get("hostname") or container_id[:12],
        "files": files_dir,
        "proxy": None,
        "aliases": options.get("aliases") or [],
        "extra_hosts": options.get("extra_hosts") or [],
    }
    try:
        with link.rtnl() as ipr, st.lock(name):
            record = st.load(name)
            ip = st.allocate(record, lease, options.get("ip"))
            try:
                bridge = link.bridge_up(ipr, record, home, bool(settings.get("ip_forward")))
                mac = link.attach(ipr, bridge, container_id, netns_path, ip, record, options.get("mac"))
                write_files(files_dir, settings, lease, ip, record, options)
                if bound:
                    log = os.path.join(files_dir, "proxy.log")
                    lease["proxy"] = ports.spawn(bound, ip, container_id, log)
                    bound = []
                st.save(record)
            except BaseException:
                ports.stop(lease["proxy"])
                with contextlib.suppress(Exception):
                    link.detach(ipr, container_id)
                st.release(record, container_id)
                st.save(record)
                raise
    finally:
        for sock, _ in bound:
            sock.close()
    return {
        "network": name,
        "ip": ip,
        "prefixlen": int(record["subnet"].split("/")[1]),
        "gateway": record["gateway"],
        "mac": mac,
        "bridge": record["bridge"],
        "veth": link.veth_name(container_id),
        "ports": published,
    }


def teardown(home: str, settings: dict, container_id: str, netns_path: str, info: dict) -> None:
    from stdc_net_bridge import link

    st = Store(home, settings)
    name = info.get("network") or st.find_lease(container_id)
    with link.rtnl() as ipr:
        if name is None:  # never got an address: at most a veth pair is left
            link.detach(ipr, container_id)
            return
        with st.lock(name):
            try:
                record = st.load(name)
            except NotFound:  # the network was removed meanwhile
                link.detach(ipr, container_id)
                return
            for held in record["leases"].values():
                if held["container"] == container_id:
                    ports.stop(held.get("proxy"))
            link.detach(ipr, container_id)
            if st.release(record, container_id):
                st.save(record)
                if name != DEFAULT:
                    refresh_hosts(settings, record)


# -- /etc files -------------------------------------------------------------------------------


def write_files(files_dir: str, settings: dict, lease: dict, ip: str, record: dict, options: dict) -> None:
    """hostname, resolv.conf and hosts of a container joining ``record``'s network; on a user
    network the hosts files of every container on it are rewritten to name the newcomer too."""
    _write(os.path.join(files_dir, "hostname"), lease["hostname"] + "\n")
    _write(os.path.join(files_dir, "resolv.conf"), resolv_conf(settings, options))
    if record["name"] == DEFAULT:  # as on docker's default bridge: no names of the others
        _write(os.path.join(files_dir, "hosts"), _own_hosts(lease, ip, record))
    else:
        refresh_hosts(settings, record)


def refresh_hosts(settings: dict, record: dict) -> None:
    """Rewrite, in place (the file is bind-mounted: its inode must stay), the hosts file of every
    container on a user network: its own line first, then one per other container."""
    leases = record["leases"]
    for ip, lease in leases.items():
        others = "".join(f"{o}\t{_names(held)}\n" for o, held in leases.items() if o != ip)
        _write(os.path.join(lease["files"], "hosts"), _own_hosts(lease, ip, record) + others)


def _own_hosts(lease: dict, ip: str, record: dict) -> str:
    """The head of a container's hosts file: localhost, its ``--add-host`` entries (docker's
    order), its own line."""
    extra = ""
    for entry in lease.get("extra_hosts") or []:
        names, _, address = entry.partition(":")
        extra += f"{record['gateway'] if address == 'host-gateway' else address}\t{names}\n"
    return _HOSTS_HEAD + extra + f"{ip}\t{_names(lease)}\n"


def _names(lease: dict) -> str:
    names = [lease["hostname"], lease["name"], lease["container"][:12], *(lease.get("aliases") or [])]
    return " ".join(dict.fromkeys(names))


def resolv_conf(settings: dict, options: dict | None = None) -> str:
    """The host's resolv.conf without loopback resolvers (unreachable from a container), or the
    ``[network] dns`` servers of the host's config; the container's ``dns``, ``dns_search`` and
    ``dns_options`` replace what they name."""
    options = options or {}
    if options.get("dns") or options.get("dns_search") or options.get("dns_options"):
        return _asked_resolv_conf(resolv_conf(settings), options)
    lines: list[str] = []
    servers = settings.get("dns")
    with contextlib.suppress(OSError), open("/etc/resolv.conf") as f:
        for line in f:
            words = line.split()
            if words[:1] == ["nameserver"]:
                if servers is None and len(words) > 1 and not words[1].startswith(("127.", "::1")):
                    lines.append(line.rstrip("\n"))
            elif words[:1] in (["search"], ["options"]):
                lines.append(line.rstrip("\n"))
    if servers is not None or not any(line.startswith("nameserver") for line in lines):
        lines += [f"nameserver {s}" for s in (servers if servers is not None else FALLBACK_DNS)]
    return "\n".join(lines) + "\n"


def _asked_resolv_conf(default: str, options: dict) -> str:
    """``default`` with the lines of each kind the container asked for replaced, as docker does."""
    asked = {
        "nameserver": [f"nameserver {s}" for s in options.get("dns") or []],
        "search": [f"search {' '.join(d for d in options.get('dns_search') or [] if d != '.')}"]
        if options.get("dns_search")
        else [],
        "options": [f"options {' '.join(options.get('dns_options') or [])}"] if options.get("dns_options") else [],
    }
    kept = [line for line in default.splitlines() if not (line.split()[:1] and asked.get(line.split()[0]))]
    chosen = [line for lines in asked.values() for line in lines if line.strip() != "search"]
    return "\n".join(kept + chosen) + "\n"


def _write(path: str, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        return  # the container's files are gone with it
    try:
        data = text.encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


# -- networks ---------------------------------------------------------------------------------


def describe(st: Store, record: dict) -> dict:
    return {
        "Name": record["name"],
        "Id": record["id"],
        "Driver": "bridge",
        "Bridge": record["bridge"],
        "Subnet": record["subnet"],
        "Gateway": record["gateway"],
        "Created": record["created"],
        "Labels": dict(record.get("labels") or {}),
        "Containers": {
            lease["container"]: {"Name": lease["name"], "IPv4Address": ip}
            for ip, lease in st.live_leases(record).items()
        },
    }


def create(home: str, settings: dict, name: str, subnet: str | None, labels: dict[str, str]) -> dict:
    from stdc_net_bridge import link

    st = Store(home, settings)
    with link.rtnl() as ipr, st.lock("*"):
        record = st.new_record(name, subnet, link.host_routes(ipr))
        if labels:
            record["labels"] = dict(labels)
        with st.lock(name):
            link.bridge_up(ipr, record, home, bool(settings.get("ip_forward")))
            try:
                st.save(record)
            except BaseException:
                link.bridge_down(ipr, record, home)
                raise
    return describe(st, record)


def remove(home: str, settings: dict, name: str) -> None:
    st = Store(home, settings)
    if name == DEFAULT:
        raise Conflict(f"{DEFAULT} is the default network: it cannot be removed (prune releases it when unused)")
    _take_down(st, name, home, forget=True)


def _take_down(st: Store, name: str, home: str, forget: bool) -> bool:
    """Remove a network's bridge and rules (and its record when ``forget``) unless a container
    is on it; whether it was taken down."""
    from stdc_net_bridge import link

    with link.rtnl() as ipr, st.lock("*"), st.lock(name):
        record = st.load(name)
        users = st.live_leases(record)
        if users:
            if forget:
                names = ", ".join(sorted(lease["name"] for lease in users.values()))
                raise Conflict(f"network {name} is in use by container(s) {names}")
            return False
        link.bridge_down(ipr, record, home)
        st.delete(name)
    return True


def listing(home: str, settings: dict) -> list[dict[str, Any]]:
    st = Store(home, settings)
    return [describe(st, st.load(name)) for name in st.names()]


def prune(home: str, settings: dict, in_use: list[str]) -> list[str]:
    """Unused user networks go; the default network's bridge and rules go while unused (they
    come back at its next use, from the settings of that time)."""
    st = Store(home, settings)
    removed = []
    for name in st.names():
        if name == DEFAULT:
            _take_down(st, name, home, forget=False)
        elif name not in in_use and _take_down(st, name, home, forget=False):
            removed.append(name)
    return removed
