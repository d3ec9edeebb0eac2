"""The provider's records: one JSON file per network under ``<home>/networks``, holding its
definition and its leases (address -> container), each changed only under the network's lock.

The address allocator hands out the next free address after the last one given (wrapping),
as docker does, so that an address just released is not at once reused while a peer may still
have it in its ARP cache. A lease whose network namespace is gone (the host rebooted, a crash
before the core cleaned up) is stale and taken back; the core creates the namespace before it
asks for an address and removes it only after the lease is released, so a live lease always
has one.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import time
from collections.abc import Iterator

from stdc.errors import BadInput, Conflict, NotFound

DEFAULT = "bridge"
DEFAULT_BRIDGE = "stdc0"
DEFAULT_SUBNET = "172.17.0.0/16"
#: Where ``network create`` without ``--subnet`` looks for a free one, in order (docker's pools).
POOLS = [f"172.{n}.0.0/16" for n in range(18, 32)] + [f"192.168.{n}.0/20" for n in range(0, 256, 16)]
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$")
RESERVED = ("none", "host")


class Store:
    """The networks of one stdc root."""

    def __init__(self, home: str, settings: dict) -> None:
        self.home = home
        self.settings = settings
        self.dir = os.path.join(home, "networks")

    # -- files and locks --------------------------------------------------------------------

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, f"{name}.json")

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the lock of network ``name`` (``*`` for the set of networks)."""
        locks = os.path.join(self.home, "locks")
        os.makedirs(locks, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(locks, f"{name}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def load(self, name: str) -> dict:
        """The record of network ``name``; the default one exists before its first use."""
        try:
            with open(self._path(name)) as f:
                return json.load(f)
        except FileNotFoundError:
            if name == DEFAULT:
                return self.default_record()
            raise NotFound(f"no such network: {name}") from None

    def save(self, record: dict) -> None:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        path = self._path(record["name"])
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(record, f, indent=1)
        os.replace(tmp, path)

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(name))

    def names(self) -> list[str]:
        """Every network, the default one first."""
        found = [f[:-5] for f in os.listdir(self.dir) if f.endswith(".json")] if os.path.isdir(self.dir) else []
        return [DEFAULT] + sorted(n for n in found if n != DEFAULT)

    # -- definitions -------------------------------------------------------------------------

    def default_record(self) -> dict:
        """The default network as the host's settings define it; without ``subnet``, the first
        free one of 172.17.0.0/16 and the pools (as docker chooses docker0's)."""
        bridge = self.settings.get("bridge", DEFAULT_BRIDGE)
        subnet = _subnet(self.settings["subnet"]) if "subnet" in self.settings else self._free_default_subnet(bridge)
        return _record(DEFAULT, "0" * 64, bridge, subnet)

    def _free_default_subnet(self, bridge: str) -> ipaddress.IPv4Network:
        # the bridge's own route is no obstacle: it may still be up while its record is gone
        taken = [net for iface, net in host_routes() if iface != bridge]
        taken += [ipaddress.IPv4Network(self.load(n)["subnet"]) for n in self.names() if n != DEFAULT]
        for candidate in map(ipaddress.IPv4Network, [DEFAULT_SUBNET, *POOLS]):
            if not any(candidate.overlaps(t) for t in taken):
                return candidate
        raise Conflict("no free subnet left for the default network: set [network] subnet in the host's config")

    def new_record(self, name: str, subnet: str | None, host_routes: list[ipaddress.IPv4Network]) -> dict:
        """A user network's record (not saved yet): the name checked, the subnet free."""
        if not _NAME.match(name):
            raise BadInput(f"invalid network name {name!r}: letters, digits, '_', '.', '-' (up to 64)")
        if name in (*RESERVED, DEFAULT) or os.path.exists(self._path(name)):
            raise Conflict(f"network {name} already exists")
        taken = [(n, ipaddress.IPv4Network(self.load(n)["subnet"])) for n in self.names()]
        if subnet is None:
            for candidate in map(ipaddress.IPv4Network, POOLS):
                if not any(candidate.overlaps(t) for _, t in taken) and not any(
                    candidate.overlaps(r) for r in host_routes
                ):
                    subnet = str(candidate)
                    break
            else:
                raise Conflict("no free subnet left in the default pools: give one with --subnet")
        net = _subnet(subnet)
        for other, t in taken:
            if net.overlaps(t):
                raise BadInput(f"subnet {net} overlaps network {other} ({t})")
        overlaps_route(net, host_routes)
        net_id = os.urandom(32).hex()
        return _record(name, net_id, f"stdc{net_id[:10]}", net)

    # -- leases ------------------------------------------------------------------------------

    @staticmethod
    def live_leases(record: dict) -> dict[str, dict]:
        """The leases whose container still has its network namespace."""
        return {ip: lease for ip, lease in record["leases"].items() if os.path.lexists(lease["netns"])}

    def allocate(self, record: dict, lease: dict, wanted: str | None = None) -> str:
        """Lease ``wanted``, else the next free address of the network, to ``lease["container"]``;
        stale leases and an earlier one of the same container are taken back first."""
        record["leases"] = {
            ip: held for ip, held in self.live_leases(record).items() if held["container"] != lease["container"]
        }
        net = ipaddress.IPv4Network(record["subnet"])
        if wanted is not None:
            return self._take(record, lease, net, wanted)
        first, last = int(net.network_address) + 1, int(net.broadcast_address) - 1
        start = int(ipaddress.IPv4Address(record.get("last") or record["gateway"]))
        size = last - first + 1
        for step in range(1, size + 1):
            candidate = str(ipaddress.IPv4Address(first + (start - first + step) % size))
            if candidate != record["gateway"] and candidate not in record["leases"]:
                record["leases"][candidate] = lease
                record["last"] = candidate
                return candidate
        raise Conflict(f"network {record['name']} has no free address left ({record['subnet']})")

    @staticmethod
    def _take(record: dict, lease: dict, net: ipaddress.IPv4Network, wanted: str) -> str:
        address = ipaddress.IPv4Address(wanted)
        if address not in net or address in (net.network_address, net.broadcast_address):
            raise BadInput(f"address {wanted} is not in network {record['name']}'s subnet {record['subnet']}")
        if wanted == record["gateway"] or wanted in record["leases"]:
            raise Conflict(f"address {wanted} is already in use on network {record['name']}")
        record["leases"][wanted] = lease
        return wanted

    @staticmethod
    def release(record: dict, container_id: str) -> bool:
        """Drop the container's lease; whether it had one."""
        before = len(record["leases"])
        record["leases"] = {ip: held for ip, held in record["leases"].items() if held["container"] != container_id}
        return len(record["leases"]) != before

    def find_lease(self, container_id: str) -> str | None:
        """The network on which the container holds a lease, if any."""
        for name in self.names():
            if any(held["container"] == container_id for held in self.load(name)["leases"].values()):
                return name
        return None


def host_routes() -> list[tuple[str, ipaddress.IPv4Network]]:
    """The IPv4 destinations of the host's main routing table and their interfaces, the default
    route left out (from /proc/net/route: no netlink library needed to list the networks)."""
    found = []
    with open("/proc/net/route") as f:
        next(f)  # the column names
        for line in f:
            iface, destination, *_, mask = line.split()[:8]
            bits = int(mask, 16)
            if bits:
                address = ipaddress.IPv4Address(int(destination, 16).to_bytes(4, "little"))
                found.append((iface, ipaddress.IPv4Network(f"{address}/{bits.bit_count()}", strict=False)))
    return found


def _subnet(text: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(text, strict=True)
    except ValueError as e:
        raise BadInput(f"invalid subnet {text!r}: {e}") from None
    if net.prefixlen > 29:
        raise BadInput(f"subnet {net} is too small: at most /29")
    return net


def overlaps_route(net: ipaddress.IPv4Network, host_routes: list[ipaddress.IPv4Network]) -> None:
    for route in host_routes:
        if net.overlaps(route):
            raise BadInput(f"subnet {net} overlaps a route of this host ({route})")


def _record(name: str, net_id: str, bridge: str, net: ipaddress.IPv4Network) -> dict:
    return {
        "name": name,
        "id": net_id,
        "bridge": bridge,
        "subnet": str(net),
        "gateway": str(net.network_address + 1),
        "created": time.time(),
        "leases": {},
        "last": None,
    }
