"""Network providers: configure a container's network namespace.

The core creates the namespace (bind-mounted at ``/run/stdc/netns/<id>``) before the container
starts and puts its path into the spec; the provider sets it up (interfaces, addresses, routes,
published ports) and tears it down; the executor only joins it. ``none`` (loopback only) and
``host`` are built into the core and need no provider.
"""

from __future__ import annotations

from stdc.specs import hookspec


@hookspec(firstresult=True)
def net_unusable() -> str | None:
    """Return ``None`` when the provider works on this host, else a short reason."""


@hookspec(firstresult=True)
def net_setup(container_id: str, netns_path: str, rootfs_etc: str, options: dict) -> dict:
    """Configure the namespace at ``netns_path`` for the container.

    ``options`` carries what the user asked for (``network`` name, ``publish`` port specs,
    ``hostname``). ``rootfs_etc`` is a host directory whose ``hosts``, ``hostname`` and
    ``resolv.conf`` the core bind-mounts into the container. Return a JSON-able dict
    describing what was set up (addresses, ports); the core stores it and hands it back to
    :func:`net_teardown`. On failure, undo everything done so far before raising.
    """


@hookspec(firstresult=True)
def net_teardown(container_id: str, netns_path: str, info: dict) -> None:
    """Undo :func:`net_setup` (idempotent: called again after a crash at any point)."""
