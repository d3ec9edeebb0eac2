"""Where the API listens: a unix socket (root's alone, 0600, or 0660 with a group, as dockerd's
``-G``) and, only with mutual TLS, TCP; plain TCP is refused off loopback.

:func:`serve` runs the application on them until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import ssl
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stdc.errors import BadInput, Conflict

DEFAULT_SOCKET_NAME = "docker.sock"


@dataclass
class TlsFiles:
    """dockerd's ``--tlsverify --tlscacert --tlscert --tlskey``: clients must show a certificate
    signed by ``ca``."""

    ca: str
    cert: str
    key: str

    def context(self) -> ssl.SSLContext:
        """A server context that requires a client certificate signed by the CA."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=self.ca)
        ctx.load_cert_chain(self.cert, self.key)
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def default_socket(runtime_dir: str) -> str:
    """The API's socket under stdc's runtime directory (``/run/stdc/docker.sock`` by default)."""
    return os.path.join(runtime_dir, DEFAULT_SOCKET_NAME)


def parse_tcp(address: str, tls: TlsFiles | None) -> tuple[str, int]:
    """``tcp://HOST:PORT`` as (host, port); plain TCP (no TLS) only on a loopback address."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
        raise BadInput(f"invalid API address {address!r}: use tcp://HOST:PORT or unix://PATH")
    host = parts.hostname
    if tls is None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise BadInput(
                f"refusing to serve the API on {address} without TLS: anyone who reaches it is root here; "
                "give --tlsverify --tlscacert --tlscert --tlskey"
            )
    return host, parts.port


def unix_listener(path: str, group: str | None = None) -> socket.socket:
    """A listening unix socket at ``path``: 0600 root's, or 0660 with ``group``; a stale socket
    is replaced, a live one is a Conflict."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700 if group is None else 0o711, exist_ok=True)
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
        else:
            raise Conflict(f"something already listens on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old_umask)
    if group is not None:
        import grp

        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            sock.close()
            os.unlink(path)
            raise BadInput(f"no such group: {group}") from None
        os.chown(path, 0, gid)
        os.chmod(path, 0o660)
    sock.listen(512)
    sock.setblocking(False)
    return sock


async def _serve(app: Any, unix: socket.socket | None, tcp: list[tuple[str, int]], tls: TlsFiles | None) -> None:
    from aiohttp import web

    # a client that sends its headers slower than this is dropped (slow-loris)
    # on SIGTERM, streams still open (logs -f, attach, events) get 2 s to end; their containers run on
    runner = web.AppRunner(app, handle_signals=False, access_log=None, keepalive_timeout=75, shutdown_timeout=2)
    await runner.setup()
    sites: list[web.BaseSite] = []
    if unix is not None:
        sites.append(web.SockSite(runner, unix))
    for host, port in tcp:
        sites.append(web.TCPSite(runner, host, port, ssl_context=tls.context() if tls else None, backlog=512))
    for site in sites:
        await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})  # see serve()
    where = [unix.getsockname()] if unix is not None else []
    where += [f"tcp://{h}:{p}" for h, p in tcp]
    print(f"stdc daemon: Docker API on {', '.join(where)}", file=sys.stderr, flush=True)
    await stop.wait()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(runner.cleanup(), 10)


def serve(
    config: Any,
    socket_path: str | None,
    group: str | None = None,
    tcp: list[str] | None = None,
    tls: TlsFiles | None = None,
) -> None:
    """Serve the API of ``config``'s engine on ``socket_path`` and the ``tcp`` addresses until
    SIGTERM or SIGINT; the socket is removed on the way out."""
    from stdc.dockerapi import app

    addresses = [parse_tcp(a, tls) for a in tcp or []]  # every address checked before listening
    # a SIGTERM before the loop handles it waits for it: the socket is never left behind
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    unix = unix_listener(socket_path, group) if socket_path else None
    ours = os.stat(socket_path).st_ino if socket_path else None
    try:
        asyncio.run(_serve(app.build(config), unix, addresses, tls))
    finally:
        # only our own socket: a daemon started meanwhile may have replaced it
        with contextlib.suppress(FileNotFoundError):
            if socket_path and os.stat(socket_path).st_ino == ours:
                os.unlink(socket_path)


def fork_server(
    socket_path: str | None, group: str | None = None, tcp: list[str] | None = None, tls: TlsFiles | None = None
) -> int:
    """Serve the API in a child process of its own (the warm daemon's zygote must stay free of
    threads: it forks a worker per command); returns its pid. Addresses are checked here first."""
    for address in tcp or []:
        parse_tcp(address, tls)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the API's process
        code = 0
        try:
            from stdc import config

            serve(config.load(), socket_path, group, tcp, tls)
        except BaseException as e:  # noqa: BLE001 - told, then this process ends
            print(f"stdc daemon: the Docker API failed: {e}", file=sys.stderr, flush=True)
            code = 1
        finally:
            os._exit(code)
    return pid


def stop_server(pid: int, timeout: float = 30) -> None:
    """End the API's process (SIGTERM) and wait until it is gone (it removes its socket on the
    way out); SIGKILL after ``timeout`` seconds. Waits on a pidfd: the daemon ignores SIGCHLD,
    so its children are reaped by the kernel and cannot be waited for."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(int(timeout * 1000)):
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            poller.poll(10_000)
    finally:
        os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
