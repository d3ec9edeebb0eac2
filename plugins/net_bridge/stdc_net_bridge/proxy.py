"""The userland proxy of one container's published ports (``python -m stdc_net_bridge.proxy
CONTAINER_ID RELAYS``): it inherits the bound host sockets, RELAYS being a JSON list of
``[fd, "tcp"|"udp", container_ip, container_port]``, and relays each to the container until
SIGTERM. TCP: a connection to the container per accepted one, half-closes passed on. UDP: a
socket to the container per client address, forgotten after :data:`UDP_IDLE` seconds idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sys
import time

UDP_IDLE = 90.0
BUFFER = 65536


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(BUFFER):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def _relay_tcp(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter, ip: str, port: int) -> None:
    try:
        target_r, target_w = await asyncio.open_connection(ip, port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(_copy(client_r, target_w), _copy(target_r, client_w))
    except OSError:
        pass  # a reset on either side ends both
    finally:
        for w in (client_w, target_w):
            w.close()


class _UdpRelay(asyncio.DatagramProtocol):
    def __init__(self, ip: str, port: int) -> None:
        self.target = (ip, port)
        self.clients: dict[tuple, tuple[socket.socket, float]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        loop = asyncio.get_running_loop()
        held = self.clients.get(addr)
        if held is None:
            upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            upstream.setblocking(False)
            upstream.connect(self.target)
            loop.add_reader(upstream.fileno(), self._reply, upstream, addr)
        else:
            upstream = held[0]
        self.clients[addr] = (upstream, time.monotonic())
        with contextlib.suppress(OSError):
            upstream.send(data)

    def _reply(self, upstream: socket.socket, addr: tuple) -> None:
        try:
            data = upstream.recv(BUFFER)
        except OSError:
            return
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def forget_idle(self) -> None:
        now = time.monotonic()
        for addr, (upstream, last) in list(self.clients.items()):
            if now - last > UDP_IDLE:
                asyncio.get_running_loop().remove_reader(upstream.fileno())
                upstream.close()
                del self.clients[addr]


async def main(relays: list[list]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    servers, udp = [], []
    for fd, protocol, ip, port in relays:
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)
        if protocol == "tcp":

            async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter, ip: str = ip, port: int = port) -> None:
                await _relay_tcp(r, w, ip, port)

            servers.append(await asyncio.start_server(handle, sock=sock))
        else:
            _, relay = await loop.create_datagram_endpoint(lambda ip=ip, port=port: _UdpRelay(ip, port), sock=sock)
            udp.append(relay)
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=UDP_IDLE / 3)
        for relay in udp:
            relay.forget_idle()
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[2])))
