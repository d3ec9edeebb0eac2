"""The kernel side, over rtnetlink with pyroute2: the bridge, each container's veth pair, and
the container's side of it (``lo``, ``eth0``, its address and default route).

pyroute2 is imported here only, and only when a container joins or leaves a network or a
network is made or removed: a run on ``--network none`` never loads it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator
from typing import Any

from stdc.errors import Conflict, StdcError
from stdc.kit import syscalls

VETH_PREFIX = "vstdc"


def veth_name(container_id: str) -> str:
    """The host end of a container's veth pair (at most 15 characters, as the kernel wants)."""
    return VETH_PREFIX + container_id[:10]


def owner_tag(home: str) -> str:
    """Written as the alias of every bridge this stdc root makes, to know its own."""
    return f"stdc:{home}"


@contextlib.contextmanager
def rtnl(netns_path: str | None = None) -> Iterator[Any]:
    """An rtnetlink socket (pyroute2's IPRoute) in the host's network namespace, or in the one
    at ``netns_path``: the socket is made there, with this thread back in its own at once."""
    IPRoute = _iproute_class()  # noqa: N806 - the class, by pyroute2's name

    if netns_path is None:
        ipr = IPRoute()
    else:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            syscalls.setns(target, syscalls.CLONE_NEWNET)
            try:
                ipr = IPRoute()
            finally:
                syscalls.setns(own, syscalls.CLONE_NEWNET)
        finally:
            os.close(target)
            os.close(own)
    try:
        yield ipr
    finally:
        ipr.close()


def _iproute_class() -> Any:
    """pyroute2's IPRoute, without running ``pyroute2/__init__.py`` first when nothing has:
    that imports every protocol the library knows (conntrack, nftables, wireless, IPVS, …),
    ~190 ms against ~90 for the rtnetlink part, on every ``run`` on a bridge. The package
    module is put in place uninitialised, with a module ``__getattr__`` that runs its
    ``__init__`` the first time anyone asks it for a name it lacks: ``from pyroute2 import X``
    keeps working for any other code in the process."""
    import sys

    if "pyroute2" not in sys.modules:
        import importlib
        import importlib.util

        spec = importlib.util.find_spec("pyroute2")
        if spec is None or spec.loader is None:
            raise StdcError("pyroute2 is not installed (pip install pyroute2)")
        package = importlib.util.module_from_spec(spec)

        def complete(name: str) -> Any:
            if importlib.util.find_spec(f"pyroute2.{name}") is not None:  # `from pyroute2 import config`
                return importlib.import_module(f"pyroute2.{name}")
            del package.__getattr__
            spec.loader.exec_module(package)
            return getattr(package, name)

        package.__getattr__ = complete  # type: ignore[attr-defined]
        sys.modules["pyroute2"] = package
    from pyroute2.iproute.linux import IPRoute

    return IPRoute


def _index(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def host_routes(ipr: Any) -> list[ipaddress.IPv4Network]:
    """The IPv4 destinations the host routes (main table, the default route left out)."""
    found = []
    for route in ipr.get_routes(family=2, table=254):
        length = route["dst_len"]
        if length:
            found.append(ipaddress.IPv4Network(f"{route.get_attr('RTA_DST')}/{length}", strict=False))
    return found


def bridge_up(ipr: Any, record: dict, home: str, ip_forward: bool) -> int:
    """Make sure the network's bridge is there, with the gateway address, up, and its packet
    filter; return its index. A bridge of that name that another stdc root (or anyone else)
    made is refused, never taken over."""
    from stdc_net_bridge import firewall, store

    name = record["bridge"]
    index = _index(ipr, name)
    if index is not None:
        alias = ipr.link("get", index=index)[0].get_attr("IFLA_IFALIAS")
        if alias != owner_tag(home):
            raise Conflict(
                f"the interface {name} is not this stdc root's (alias {alias!r}): set another"
                " [network] bridge (and subnet) in the host's config"
            )
        return index
    net = ipaddress.IPv4Network(record["subnet"])
    store.overlaps_route(net, host_routes(ipr))
    mac = "02:" + ":".join(f"{b:02x}" for b in os.urandom(5))  # fixed: not the lowest port's
    ipr.link("add", ifname=name, kind="bridge", address=mac)
    try:
        index = _index(ipr, name)
        ipr.link("set", index=index, ifalias=owner_tag(home))
        ipr.addr("add", index=index, address=record["gateway"], prefixlen=net.prefixlen)
        # forwarding on our own bridge only: what comes from the containers may be routed
        # (outbound NAT); the host-wide switch is the host's, unless its config hands it to us
        _sysctl(f"net/ipv4/conf/{name}/forwarding", "1")
        if ip_forward:
            _sysctl("net/ipv4/ip_forward", "1")
        firewall.add(record)
        ipr.link("set", index=index, state="up")
    except BaseException:
        with contextlib.suppress(Exception):
            ipr.link("del", ifname=name)
        raise
    return index


def bridge_down(ipr: Any, record: dict, home: str) -> None:
    """Remove the network's bridge (if it is this root's) and its packet filter."""
    from stdc_net_bridge import firewall

    index = _index(ipr, record["bridge"])
    if index is not None and ipr.link("get", index=index)[0].get_attr("IFLA_IFALIAS") != owner_tag(home):
        return
    # the packet filter first: a crash in between leaves the bridge, whose alias says whose it is
    firewall.remove(record)
    if index is not None:
        ipr.link("del", index=index)


def attach(
    ipr: Any, bridge: int, container_id: str, netns_path: str, ip: str, record: dict, mac: str | None = None
) -> str:
    """A veth pair: the host end on the bridge, the other ``eth0`` in the namespace with ``ip``
    (and ``mac``, else the kernel's), ``lo`` up and the default route through the gateway.
    Returns eth0's MAC address."""
    host_end = veth_name(container_id)
    detach(ipr, container_id)
    ipr.link("add", ifname=host_end, kind="veth", peer={"ifname": "eth0", "net_ns_fd": netns_path})
    ipr.link("set", index=_index(ipr, host_end), master=bridge, state="up")
    prefixlen = ipaddress.IPv4Network(record["subnet"]).prefixlen
    with rtnl(netns_path) as ns:
        ns.link("set", index=_index(ns, "lo"), state="up")
        eth0 = _index(ns, "eth0")
        if eth0 is None:
            raise StdcError("the container's end of its veth pair did not arrive in its namespace")
        if mac:
            ns.link("set", index=eth0, address=mac)
        ns.addr("add", index=eth0, address=ip, prefixlen=prefixlen)
        ns.link("set", index=eth0, state="up")
        ns.route("add", dst="0.0.0.0/0", gateway=record["gateway"])
        return ns.link("get", index=eth0)[0].get_attr("IFLA_ADDRESS")


def detach(ipr: Any, container_id: str) -> None:
    """Delete the container's veth pair (both ends go together), if it is there."""
    index = _index(ipr, veth_name(container_id))
    if index is not None:
        ipr.link("del", index=index)


def _sysctl(key: str, value: str) -> None:
    with open(f"/proc/sys/{key}", "w") as f:
        f.write(value)
