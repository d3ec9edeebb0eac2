"""Attaching a terminal (or pipes) to a container's process: the client side.

A running container's monitor (libexec/stdc-monitor.c) serves ``BUNDLE/attach.sock``, a unix
SOCK_SEQPACKET socket: each packet it sends is a stream byte (1 stdout, 2 stderr, 3 the exit
code at the very end) and the bytes; each packet a client sends is ``i`` + input or ``w`` + the
terminal's rows and columns (two native uint16) or ``e`` (the client's input has ended). ``run -it``,
``start -ai`` and ``attach`` are clients of it; ``exec -t`` relays a pseudo-terminal of its own
the same way (:class:`PtyChannel`).

:func:`relay` is the loop both share: the client's terminal goes raw while attached, its window
size follows SIGWINCH, and a detach sequence (ctrl-p ctrl-q, docker's default) leaves the
container running.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import socket
import struct
import termios
from collections.abc import Iterator

from stdc.errors import BadInput
from stdc.kit.console import set_size

SOCKET = "attach.sock"
STDOUT, STDERR, EXIT = 1, 2, 3
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_MAX_PACKET = 1 << 17
_INPUT_CHUNK = 32768  # what the monitor takes in one packet (it has room for 64 KiB)
_CTRL_KEYS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[\\]^_"


@contextlib.contextmanager
def _short_path(bundle: str) -> Iterator[str]:
    """The socket's path through ``/proc/self/fd``: a bundle's full path may exceed the 108
    bytes a unix socket address holds (conmon does the same)."""
    fd = os.open(bundle, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{fd}/{SOCKET}"
    finally:
        os.close(fd)


def bind(bundle: str) -> socket.socket:
    """Make the listening socket of a container's monitor (replacing a stale one)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(bundle, SOCKET))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        with _short_path(bundle) as path:
            sock.bind(path)
        os.chmod(os.path.join(bundle, SOCKET), 0o600)
        sock.listen(8)
    except BaseException:
        sock.close()
        raise
    return sock


def connect(bundle: str) -> socket.socket | None:
    """Connect to a container's monitor; None when it serves no socket (any more)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        with _short_path(bundle) as path:
            sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    return sock


def parse_detach_keys(spec: str) -> bytes:
    """docker's ``--detach-keys``: comma-separated ``ctrl-X`` (X in a-z, @, [, \\, ], ^, _) or
    single characters; an empty string disables detaching."""
    keys = b""
    for part in (p for p in spec.split(",") if p) if spec else ():
        if part.lower().startswith("ctrl-") and len(part) == 6 and part[5].upper() in _CTRL_KEYS:
            keys += bytes([ord(part[5].upper()) & 0x1F])
        elif len(part) == 1 and part.isascii():
            keys += part.encode()
        else:
            raise BadInput(f"invalid detach keys {spec!r}: use e.g. ctrl-p,ctrl-q")
    return keys


class MonitorChannel:
    """A connection to a container's monitor."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self) -> tuple[int, bytes] | None:
        """One packet: (stream, bytes); None when the monitor hung up."""
        try:
            packet = self.sock.recv(_MAX_PACKET)
        except ConnectionResetError:
            return None
        return (packet[0], packet[1:]) if packet else None

    def send_input(self, data: bytes) -> None:
        for start in range(0, len(data), _INPUT_CHUNK):
            self.sock.sendall(b"i" + data[start : start + _INPUT_CHUNK])

    def resize(self, rows: int, columns: int) -> None:
        self.sock.send(b"w" + struct.pack("HH", rows, columns))

    def end_input(self) -> None:
        """Our input has ended: the payload's stdin is closed (not its terminal's) once written."""
        self.sock.send(b"e")

    def close(self) -> None:
        self.sock.close()


class PtyChannel:
    """The master of a pseudo-terminal this process holds (``exec -t``)."""

    def __init__(self, master: int) -> None:
        self.master = master

    def fileno(self) -> int:
        return self.master

    def receive(self) -> tuple[int, bytes] | None:
        try:
            data = os.read(self.master, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: nobody holds the terminal any more
                raise
            data = b""
        return (STDOUT, data) if data else None

    def send_input(self, data: bytes) -> None:
        _write_all(self.master, data)

    def resize(self, rows: int, columns: int) -> None:
        set_size(self.master, rows, columns)

    def close(self) -> None:
        os.close(self.master)


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(rows, columns) of the terminal ``fd``, or None if it is not one."""
    try:
        columns, rows = os.get_terminal_size(fd)
    except OSError:
        return None
    return rows, columns


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Detacher:
    """Holds back a prefix of the detach sequence until the next key shows what it was."""

    def __init__(self, keys: bytes) -> None:
        self.keys, self.held = keys, 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """The bytes to pass on, and whether the whole sequence was typed."""
        if not self.keys:
            return data, False
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.held]:
                self.held += 1
                if self.held == len(self.keys):
                    return bytes(out), True
                continue
            out += self.keys[: self.held]
            self.held = 0
            if byte == self.keys[0]:
                self.held = 1
            else:
                out.append(byte)
        return bytes(out), False


def relay(
    channel: MonitorChannel | PtyChannel,
    *,
    input_fd: int | None,
    tty: bool,
    detach_keys: bytes = b"",
    output_fds: tuple[int, int] = (1, 2),
) -> tuple[str, int | None]:
    """Relay until the other side ends: ``("exit", code)``, ``("eof", None)`` or, when the
    detach keys were typed, ``("detached", None)``.

    ``input_fd`` (None: send no input) is made raw while relaying when ``tty`` and it is a
    terminal; the terminal's size is sent at once and on every SIGWINCH.
    """
    terminal = input_fd if tty and input_fd is not None and os.isatty(input_fd) else None
    size_fd = terminal if terminal is not None else output_fds[0] if tty and os.isatty(output_fds[0]) else None
    saved = termios.tcgetattr(terminal) if terminal is not None else None
    wake_r, wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    old_wakeup = signal.set_wakeup_fd(wake_w)
    old_winch = signal.signal(signal.SIGWINCH, lambda *_: None)
    detacher = _Detacher(detach_keys)
    try:
        if saved is not None:
            import tty as ttys

            ttys.setraw(terminal, termios.TCSANOW)  # type: ignore[arg-type]
        sent_size = None
        reading = input_fd is not None
        while True:
            if size_fd is not None:
                size = terminal_size(size_fd)
                if size and size != sent_size:
                    channel.resize(*size)
                    sent_size = size
            watched = [channel.fileno(), wake_r] + ([input_fd] if reading else [])
            try:
                ready, _, _ = select.select(watched, [], [])
            except InterruptedError:
                continue
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 256)
            if reading and input_fd in ready:
                data = os.read(input_fd, _INPUT_CHUNK)  # type: ignore[arg-type]
                if not data:
                    reading = False  # the client's input ended: the container's goes on
                else:
                    data, detach = detacher.feed(data)
                    if data:
                        channel.send_input(data)
                    if detach:
                        return "detached", None
            if channel.fileno() in ready:
                packet = channel.receive()
                if packet is None:
                    return "eof", None
                stream, data = packet
                if stream == EXIT:
                    return "exit", int(data) if data.isdigit() else None
                _write_all(output_fds[1] if stream == STDERR else output_fds[0], data)
    finally:
        signal.signal(signal.SIGWINCH, old_winch)
        signal.set_wakeup_fd(old_wakeup)
        os.close(wake_r)
        os.close(wake_w)
        if saved is not None:
            termios.tcsetattr(terminal, termios.TCSADRAIN, saved)  # type: ignore[arg-type]
