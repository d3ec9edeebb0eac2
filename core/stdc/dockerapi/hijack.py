"""Hijacked connections (attach, exec start): after ``101 UPGRADED`` the connection carries the
raw stream both ways. The client's input is read here; its half-close (``shutdown(SHUT_WR)``)
is the end of that input, while our output goes on until the process ends.

aiohttp hands the bytes after an upgrade to a parser set on its protocol (as for websockets);
the connection's transport is given a protocol that keeps it open on the client's EOF.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web


class _Input:
    """The parser aiohttp feeds the upgraded connection's bytes to: a queue; ``b""`` is EOF."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.ended = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if data and not self.ended:
            self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        if not self.ended:
            self.ended = True
            self.queue.put_nowait(b"")


class _KeepOpenOnEof(asyncio.Protocol):
    """The handler's protocol, except that the client's EOF ends only its input."""

    def __init__(self, inner: Any, feed: _Input) -> None:
        self.inner, self.feed = inner, feed

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool:
        self.feed.feed_eof()
        return True  # keep the transport open: our output goes on

    def connection_lost(self, exc: Exception | None) -> None:
        self.feed.feed_eof()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class Hijacked:
    """A hijacked connection: :meth:`read` the client's input, :meth:`write` our output."""

    def __init__(self, response: web.StreamResponse, feed: _Input) -> None:
        self.response = response
        self._feed = feed

    async def read(self) -> bytes:
        """The client's next input; ``b""`` once it has ended (half-close or hang-up)."""
        return await self._feed.queue.get()

    async def write(self, data: bytes) -> bool:
        """Send ``data``; False when the client has gone."""
        try:
            await self.response.write(data)
        except (ConnectionError, RuntimeError):
            return False
        return True


async def hijack(request: web.Request, content_type: str) -> Hijacked:
    """Answer ``101 UPGRADED`` (200 to a client that asked no upgrade, which then sends no
    input) and take the connection over."""
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp"
    headers = {"Content-Type": content_type}
    if upgrade:
        headers.update(Connection="Upgrade", Upgrade="tcp")
    response = web.StreamResponse(status=101 if upgrade else 200, headers=headers)
    response.force_close()
    await response.prepare(request)
    feed = _Input()
    transport = request.transport
    if upgrade and transport is not None and request.protocol is not None:
        request.protocol.set_parser(feed)  # type: ignore[arg-type]
        transport.set_protocol(_KeepOpenOnEof(transport.get_protocol(), feed))
    else:
        feed.feed_eof()
    return Hijacked(response, feed)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, reading: bool) -> None:
    """Wait until ``fd`` can be read (or written) without blocking."""
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_reader if reading else loop.add_writer)(fd, wake)
    try:
        await ready
    finally:
        (loop.remove_reader if reading else loop.remove_writer)(fd)


async def read_fd(fd: int) -> AsyncIterator[bytes]:
    """The bytes of a pipe or a pseudo-terminal's master until EOF (EIO: nobody holds the
    terminal any more); ``fd`` is made non-blocking and is closed at the end."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    try:
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                await _ready(loop, fd, reading=True)
                continue
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b""
            if not data:
                return
            yield data
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


async def write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the non-blocking ``fd``, waiting for room as needed."""
    loop = asyncio.get_running_loop()
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            await _ready(loop, fd, reading=False)
