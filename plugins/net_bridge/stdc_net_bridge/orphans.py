"""What a crash left of this root's networks: veth pairs and leases of containers no record
owns, bridges (and their packet filters) no network record names. Only what is provably this
root's is ever listed: a bridge by its alias (:func:`stdc_net_bridge.link.owner_tag`), a veth by
the bridge it is on, a lease by the root's own network records.
"""

from __future__ import annotations

import contextlib
import os

from stdc.errors import NotFound, StdcError

from stdc_net_bridge import ports
from stdc_net_bridge.link import VETH_PREFIX, owner_tag
from stdc_net_bridge.store import Store

NET_CLASS = "/sys/class/net"


def _read(path: str) -> str | None:
    with contextlib.suppress(OSError), open(path) as f:
        return f.read().strip()
    return None


def _master(name: str) -> str | None:
    with contextlib.suppress(OSError):
        return os.path.basename(os.readlink(os.path.join(NET_CLASS, name, "master")))
    return None


def own_bridges(home: str) -> set[str]:
    """The interfaces whose alias names this root's provider home (its bridges)."""
    tag = owner_tag(home)
    return {name for name in os.listdir(NET_CLASS) if _read(os.path.join(NET_CLASS, name, "ifalias")) == tag}


def find(home: str, settings: dict, live_ids: list[str]) -> list[str]:
    """``bridge <name>``, ``veth <name>`` and ``lease <network> <ip>`` leftovers, sorted."""
    st = Store(home, settings)
    records = [st.load(name) for name in st.names()]
    bridges = own_bridges(home)
    found = [f"bridge {name}" for name in sorted(bridges - {r["bridge"] for r in records})]
    live_prefixes = {cid[:10] for cid in live_ids}
    for name in sorted(os.listdir(NET_CLASS)):
        if name.startswith(VETH_PREFIX) and _master(name) in bridges and name[len(VETH_PREFIX) :] not in live_prefixes:
            found.append(f"veth {name}")
    live = set(live_ids)
    for record in records:
        leases = record["leases"].items()
        found += [f"lease {record['name']} {ip}" for ip, held in leases if held["container"] not in live]
    return found


def remove(home: str, settings: dict, orphan: str) -> None:
    """Remove one leftover :func:`find` named, checked again to be this root's."""
    from stdc_net_bridge import firewall, link

    what, _, rest = orphan.partition(" ")
    if what == "lease":
        network, _, ip = rest.partition(" ")
        st = Store(home, settings)
        with st.lock(network):
            try:
                record = st.load(network)
            except NotFound:
                return
            held = record["leases"].pop(ip, None)
            if held is not None:
                ports.stop(held.get("proxy"))
                st.save(record)
        return
    if what not in ("bridge", "veth"):
        raise StdcError(f"not a leftover of the bridge provider: {orphan!r}")
    bridges = own_bridges(home)
    if (what == "bridge" and rest not in bridges) or (what == "veth" and _master(rest) not in bridges):
        return  # gone meanwhile, or not this root's
    if what == "bridge":
        firewall.remove({"bridge": rest})
    with link.rtnl() as ipr:
        index = ipr.link_lookup(ifname=rest)
        if index:
            ipr.link("del", index=index[0])
