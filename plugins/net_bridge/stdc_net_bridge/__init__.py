"""bridge: each container its own network stack on a Linux bridge, like docker's default network.

- The default network ``bridge`` is the bridge ``stdc0`` with ``172.17.0.0/16`` (host config:
  ``[network] bridge``, ``subnet``; without ``subnet``, the first free one of 172.17.0.0/16 and
  the pools, as docker chooses docker0's), the host side as gateway, made on first use; ``stdc network
  create NAME [--subnet]`` adds others, each with a bridge of its own.
- Per container a veth pair: one end on the bridge, the other the container's ``eth0`` with an
  address from a persistent allocator (:mod:`.store`), ``lo`` up, a default route; hosts,
  hostname and resolv.conf written for it (on a user network the hosts files name every
  container on it).
- Published ports through a userland proxy per container (:mod:`.ports`); containers of two
  networks cannot reach each other and addresses of a network are masqueraded on the way out
  (an nftables table per network, :mod:`.firewall`).

Netlink through pyroute2 (imported only when a container joins or leaves, see :mod:`.link`);
nothing is done by running ``ip``. Host config (``[network]`` in /etc/stdc/config.toml):
``bridge``, ``subnet`` (default network), ``ip_forward`` (``true``: turn on the host's
forwarding, as docker does, for outbound traffic; off by default), ``dns`` (list of resolvers).
"""

from __future__ import annotations

import os
import shutil

from stdc.specs import hookimpl

#: the versions of the stdc contract this backend was written for (see stdc.specs)
STDC_CONTRACT = ">=1.0,<2"


@hookimpl
def net_unusable() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.isdir("/proc/sys/net/ipv4"):
        return "no IPv4 networking in this kernel"
    if shutil.which("nft") is None:
        return "needs nft (Debian package nftables)"
    return None


@hookimpl
def stdc_warm_up() -> None:
    """In a long-lived stdc daemon: load the netlink code once, not in every worker."""
    from stdc_net_bridge import link, networks  # noqa: F401

    link._iproute_class()


@hookimpl
def net_setup(home: str, settings: dict, container_id: str, netns_path: str, files_dir: str, options: dict) -> dict:
    from stdc_net_bridge import networks

    return networks.setup(home, settings, container_id, netns_path, files_dir, options)


@hookimpl
def net_teardown(home: str, settings: dict, container_id: str, netns_path: str, info: dict) -> None:
    from stdc_net_bridge import networks

    networks.teardown(home, settings, container_id, netns_path, info)


@hookimpl
def net_create(home: str, settings: dict, name: str, subnet: str | None, options: dict) -> dict:
    from stdc_net_bridge import networks

    return networks.create(home, settings, name, subnet, options.get("labels") or {})


@hookimpl
def net_remove(home: str, settings: dict, name: str) -> None:
    from stdc_net_bridge import networks

    networks.remove(home, settings, name)


@hookimpl
def net_list(home: str, settings: dict) -> list[dict]:
    from stdc_net_bridge import networks

    return networks.listing(home, settings)


@hookimpl
def net_prune(home: str, settings: dict, in_use: list[str]) -> list[str]:
    from stdc_net_bridge import networks

    return networks.prune(home, settings, in_use)


@hookimpl
def net_orphans(home: str, settings: dict, live_ids: list[str]) -> list[str]:
    from stdc_net_bridge import orphans

    return orphans.find(home, settings, live_ids)


@hookimpl
def net_remove_orphan(home: str, settings: dict, orphan: str) -> None:
    from stdc_net_bridge import orphans

    orphans.remove(home, settings, orphan)
