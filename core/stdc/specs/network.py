"""Network providers: networks, and each container's place on one.

The core creates the container's network namespace (bind-mounted at
``<runtime_dir>/netns/<id>``) before the container starts and puts its path into the spec; the
provider configures it (interfaces, addresses, routes, name resolution, published ports) and
tears it down; the executor only joins it. ``none`` (loopback only) and ``host`` are built into
the core and need no provider.

A provider serves named networks. Its default network carries the provider's own name (the
``bridge`` provider's is ``bridge``) and needs no ``create``; others come from
:func:`net_create`. The names ``none`` and ``host`` are the core's.

Every hook gets ``home``, a directory the provider owns alone (``<root>/net/<name>``), and
``settings``, the ``[network]`` table of the host's config file (``{}`` when there is none).
Errors the user can act on are :class:`stdc.errors.StdcError` (``NotFound``, ``Conflict``,
``BadInput``), shown as one line.

A published port, in ``options["publish"]`` and in the returned ``ports``, is a dict
``{"host_ip": str ("" = every address), "host_port": int (0 = any free one),
"container_port": int, "protocol": "tcp" | "udp"}``.
"""

from __future__ import annotations

from stdc.specs import hookspec


@hookspec(firstresult=True)
def net_unusable() -> str | None:
    """Return ``None`` when the provider works on this host, else a short reason.

    Called before every use: keep it cheap (no netlink library import)."""


@hookspec(firstresult=True)
def net_setup(home: str, settings: dict, container_id: str, netns_path: str, files_dir: str, options: dict) -> dict:
    """Put the container whose namespace is at ``netns_path`` on a network.

    ``options``: ``network`` (its name), ``name`` (the container's), ``hostname``, ``publish``
    (ports, see above), and from the container's configuration (any may be missing or empty):
    ``extra_hosts`` (``NAMES:IP`` lines for its hosts file, ``IP`` may be ``host-gateway``: the
    network's gateway), ``aliases`` (more names of it on the network), ``dns``, ``dns_search``,
    ``dns_options`` (they replace those lines of resolv.conf; a search domain ``.``: none),
    ``ip`` (the address it asks for: ``BadInput`` outside the subnet, ``Conflict`` when taken)
    and ``mac`` (its interface's address). Write ``hosts``, ``hostname`` and ``resolv.conf``
    into ``files_dir``: the core bind-mounts them on the container's /etc. Bring ``lo`` up in
    the namespace.

    Return a JSON-able dict; the core stores it (``stdc inspect`` shows it) and hands it back to
    :func:`net_teardown`. Keys the core reads: ``network``, ``ip``, ``ports`` (host ports as
    bound: 0 replaced by the port chosen). An unknown network is ``NotFound``, a host port
    already taken ``Conflict``. On any failure, undo everything done so far before raising.
    """


@hookspec(firstresult=True)
def net_teardown(home: str, settings: dict, container_id: str, netns_path: str, info: dict) -> None:
    """Undo :func:`net_setup`: interfaces, address, rules, helper processes.

    Idempotent, and must work from ``container_id`` alone (``info`` may be ``{}`` after a crash
    between setup and the core storing its result). The namespace still exists; the core
    removes it afterwards."""


@hookspec(firstresult=True)
def net_create(home: str, settings: dict, name: str, subnet: str | None, options: dict) -> dict:
    """Create the network ``name`` (``subnet`` in CIDR notation, or ``None`` to pick a free one).

    A taken name is ``Conflict``; a subnet that is invalid or overlaps another network or a
    route of the host is ``BadInput``, and nothing is created. ``options["labels"]`` (when
    given): a dict of str to str the provider keeps with the network and gives back as its
    ``Labels``. Return its description, as :func:`net_list` gives it."""


@hookspec(firstresult=True)
def net_remove(home: str, settings: dict, name: str) -> None:
    """Remove the network ``name`` and everything it holds on the host.

    ``NotFound`` when there is none; ``Conflict`` while a container is on it (the core checks
    its own records first) and for the default network."""


@hookspec(firstresult=True)
def net_list(home: str, settings: dict) -> list[dict]:
    """Every network of this provider, the default one first, each a JSON-able dict with at
    least ``Name``, ``Id``, ``Driver``, ``Subnet``, ``Gateway``, ``Containers`` (container id ->
    ``{"Name", "IPv4Address"}`` of those on it now), and ``Labels`` where it was created with
    some. Reads state only: no netlink."""


@hookspec(firstresult=True)
def net_prune(home: str, settings: dict, in_use: list[str]) -> list[str]:
    """Remove the networks no container uses (``in_use`` names those that the core's records
    still name) and release what an unused default network holds on the host; the default
    network itself stays. Return the names of the networks removed."""


@hookspec(firstresult=True)
def net_orphans(home: str, settings: dict, live_ids: list[str]) -> list[str]:
    """What a crash left on the host or in ``home``: veth pairs and leases of containers whose
    id is not in ``live_ids`` (the ids the root's records hold), bridges and packet filters of
    this root's networks that no network record names. Only what is provably this root's
    (the bridges' alias names ``home``) is listed; each a string :func:`net_remove_orphan`
    understands, shown to the user as it is. Reads only.

    .. versionadded:: 1.2
    """


@hookspec(firstresult=True)
def net_remove_orphan(home: str, settings: dict, orphan: str) -> None:
    """Remove one leftover :func:`net_orphans` named (idempotent).

    .. versionadded:: 1.2
    """


#: Hooks a provider may leave out: without them nothing of its own is reconciled.
OPTIONAL_HOOKS = ("net_orphans", "net_remove_orphan")
