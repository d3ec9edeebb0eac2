"""Each network's packet filter: an nftables table of its own, ``ip stdc_<bridge>``, made with
its bridge and deleted with it, so nothing stdc adds lives in a table or chain of anyone else's
and removing a network removes every rule it had.

- ``forward``: nothing enters the network's bridge from another interface unless it answers a
  connection made from inside (containers of two networks cannot reach each other; the host
  and containers of the same network can).
- ``postrouting``: outbound NAT (masquerade) of the network's addresses, as docker does. It
  carries traffic only where the host forwards packets (``net.ipv4.ip_forward``, which the
  provider turns on only when the host's config says ``[network] ip_forward = true``).

Each change is one ``nft -f -`` transaction: applied whole or not at all.
"""

from __future__ import annotations

import subprocess

from stdc.errors import StdcError

TABLE_PREFIX = "stdc_"


def table(record: dict) -> str:
    return TABLE_PREFIX + record["bridge"]


def _nft(script: str) -> None:
    try:
        proc = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise StdcError(f"nft: {e.strerror}") from None
    if proc.returncode != 0:
        raise StdcError(f"nft: {' '.join(proc.stderr.split())}")


def add(record: dict) -> None:
    """Create (or replace) the network's table."""
    name, bridge = table(record), record["bridge"]
    _nft(
        f"""add table ip {name}
delete table ip {name}
table ip {name} {{
  chain forward {{
    type filter hook forward priority filter; policy accept;
    oifname "{bridge}" iifname != "{bridge}" ct state != {{ established, related }} drop
  }}
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {record["subnet"]} oifname != "{bridge}" masquerade
  }}
}}
"""
    )


def remove(record: dict) -> None:
    """Delete the network's table, if it is there."""
    _nft(f"add table ip {table(record)}\ndelete table ip {table(record)}\n")
