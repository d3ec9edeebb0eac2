"""What the core knows of networks: which network a container asked for, its published ports
as ``-p`` and ``-P`` give them, and the network namespace the core makes for a provider.

``none`` and ``host`` are built in. Any other network belongs to a provider (see
:mod:`stdc.specs.network`): the one chosen with ``--net``, or, when that is ``none`` or
``host``, :data:`stdc.config.DEFAULT_NETWORK_PROVIDER`. A container on a provider's network gets
a namespace of its own, bind-mounted at ``<runtime_dir>/netns/<id>`` so that it outlives no
process and any process can join it by path; the provider configures it, the executor joins it.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from stdc.errors import BadInput, Conflict, StdcError
from stdc.kit import dirs, syscalls

#: Networks built into the core: no namespace of the core's making, no provider.
BUILTIN = ("none", "host")
#: Files a provider writes for a container, bind-mounted on the container's /etc.
ETC_FILES = ("hosts", "hostname", "resolv.conf")


def path(runtime_dir: str, container_id: str) -> str:
    """Where the container's network namespace is bind-mounted."""
    return os.path.join(runtime_dir, "netns", container_id)


def create(ns_path: str) -> None:
    """Create a new network namespace and bind-mount it at ``ns_path`` (replacing a stale one).

    The calling thread unshares its network namespace, binds it, and at once goes back to its
    own: no child process is spent on it.
    """
    dirs.private(os.path.dirname(os.path.dirname(ns_path)))  # the runtime directory
    os.makedirs(os.path.dirname(ns_path), mode=0o700, exist_ok=True)
    remove(ns_path)
    os.close(os.open(ns_path, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC, 0o444))
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            syscalls.unshare(syscalls.CLONE_NEWNET)
        except OSError as e:
            raise StdcError(f"creating a network namespace: {e.strerror}") from None
        try:
            syscalls.mount("/proc/thread-self/ns/net", ns_path, None, syscalls.MS_BIND)
        finally:
            # must not fail: the rest of this process would talk to the wrong network stack
            syscalls.setns(own, syscalls.CLONE_NEWNET)
    except BaseException:
        remove(ns_path)
        raise
    finally:
        os.close(own)


def remove(ns_path: str) -> None:
    """Unmount and delete a namespace made by :func:`create`; nothing there is fine."""
    with contextlib.suppress(OSError):  # not mounted (EINVAL) or not there (ENOENT)
        syscalls.umount(ns_path, syscalls.MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(ns_path)


def etc_mounts(files_dir: str) -> list[dict]:
    """The spec mounts that put a provider's hosts, hostname and resolv.conf on /etc."""
    return [
        {"destination": f"/etc/{n}", "type": "bind", "source": os.path.join(files_dir, n), "options": ["rbind", "rw"]}
        for n in ETC_FILES
    ]


# -- published ports ------------------------------------------------------------------------------

PROTOCOLS = ("tcp", "udp")


def parse_publish(spec: str) -> dict:
    """One ``-p`` value, ``[HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]``, as a port dict
    (see :mod:`stdc.specs.network`); a missing or empty HOSTPORT means any free port."""
    body, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise BadInput(f"invalid port spec {spec!r}: the protocol must be tcp or udp")
    host_ip, host_port = "", ""
    if body.startswith("["):
        raise BadInput(f"invalid port spec {spec!r}: only IPv4 host addresses are supported")
    parts = body.split(":")
    if len(parts) == 1:
        container_port = parts[0]
    elif len(parts) == 2:
        host_port, container_port = parts
    elif len(parts) == 3:
        host_ip, host_port, container_port = parts
    else:
        raise BadInput(f"invalid port spec {spec!r}: expected [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]")
    if host_ip:
        import ipaddress

        try:
            ipaddress.IPv4Address(host_ip)
        except ValueError:
            raise BadInput(f"invalid port spec {spec!r}: {host_ip!r} is not an IPv4 address") from None
    return {
        "host_ip": host_ip,
        "host_port": _port(spec, host_port, allow_empty=True),
        "container_port": _port(spec, container_port),
        "protocol": protocol,
    }


def _port(spec: str, text: str, allow_empty: bool = False) -> int:
    if not text and allow_empty:
        return 0
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise BadInput(f"invalid port spec {spec!r}: {text!r} is not a port number (1-65535)")
    return int(text)


def exposed(image_config: dict, expose: list[str]) -> list[tuple[int, str]]:
    """The ports an image exposes (``ExposedPorts``) plus ``--expose`` ones, as (port, protocol)."""
    found = []
    for item in [*(image_config.get("ExposedPorts") or {}), *expose]:
        port, _, protocol = str(item).partition("/")
        protocol = protocol or "tcp"
        if protocol not in PROTOCOLS:
            raise BadInput(f"invalid exposed port {item!r}: the protocol must be tcp or udp")
        entry = (_port(str(item), port), protocol)
        if entry not in found:
            found.append(entry)
    return found


def publish_list(specs: list[str], publish_all: bool, image_config: dict, expose: list[str]) -> list[dict]:
    """Every port to publish: the ``-p`` specs, then with ``-P`` each exposed port not yet
    published, on any free host port."""
    ports = [parse_publish(s) for s in specs]
    exposed_ports = exposed(image_config, expose)
    if publish_all:
        taken = {(p["container_port"], p["protocol"]) for p in ports}
        ports += [
            {"host_ip": "", "host_port": 0, "container_port": port, "protocol": protocol}
            for port, protocol in exposed_ports
            if (port, protocol) not in taken
        ]
    return ports


def bind_ports(ports: list[dict]) -> list[tuple[Any, dict]]:
    """Bind (and for TCP listen on) the host socket of each published port; return the sockets
    with their port dicts, ``host_port`` as bound (0 becomes the port the kernel chose). A port
    taken is ``Conflict``, an address not the host's ``BadInput``; nothing stays bound then."""
    import errno
    import socket

    bound: list[tuple[Any, dict]] = []
    try:
        for p in ports:
            kind = socket.SOCK_STREAM if p["protocol"] == "tcp" else socket.SOCK_DGRAM
            sock = socket.socket(socket.AF_INET, kind)
            bound.append((sock, p))
            if kind == socket.SOCK_STREAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((p["host_ip"] or "0.0.0.0", p["host_port"]))
            except OSError as e:
                where = f"{p['host_ip'] or '0.0.0.0'}:{p['host_port']}/{p['protocol']}"
                if e.errno == errno.EADDRINUSE:
                    raise Conflict(f"cannot publish {where}: the port is already in use") from None
                raise BadInput(f"cannot publish {where}: {e.strerror}") from None
            if kind == socket.SOCK_STREAM:
                sock.listen(128)
        return [(sock, {**p, "host_port": sock.getsockname()[1]}) for sock, p in bound]
    except BaseException:
        for sock, _ in bound:
            sock.close()
        raise


def check_free(ports: list[dict]) -> None:
    """Refuse host ports taken now, before anything is created (the provider binds them when
    the container starts, and fails then if one was taken meanwhile)."""
    for sock, _ in bind_ports([p for p in ports if p["host_port"]]):
        sock.close()


def format_port(p: dict) -> str:
    """``80/tcp -> 0.0.0.0:8080``, as ``docker port`` shows a published port."""
    return f"{p['container_port']}/{p['protocol']} -> {p['host_ip'] or '0.0.0.0'}:{p['host_port']}"
