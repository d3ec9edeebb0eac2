"""The container's terminal, allocated inside the container and handed out runc's way.

With ``process.terminal`` the caller of :func:`stdc.specs.executor.exec_start` (or ``exec_exec``)
passes ``console_socket``, one end of a unix socket pair, like runc's ``--console-socket``. The
executor opens the pseudo-terminal from the container's own ``/dev/ptmx`` (its devpts instance,
mounted ``newinstance``), so that the payload sees ``/dev/pts/0`` as ``tty`` and ``ttyname`` do
under docker; it sends the master over the socket (SCM_RIGHTS, :func:`send_master`), makes the
slave the payload's stdio and controlling terminal (:func:`take_terminal`) and, for the init,
bind-mounts it on ``/dev/console`` (:func:`bind_console`). The caller receives the master with
:func:`receive_master`.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import socket
import struct
import termios

from stdc.errors import StdcError
from stdc.kit import syscalls

#: the name runc sends with the master (its console-socket protocol carries one)
MASTER_NAME = b"/dev/ptmx"
_TIOCGPTN = 0x80045430
_TIOCSPTLCK = 0x40045431
_TIOCGPTPEER = 0x5441
_MSG_CMSG_CLOEXEC = 0x40000000


def console_size(process: dict) -> tuple[int, int] | None:
    """``process.consoleSize`` of an OCI spec as (rows, columns), or None when not given."""
    size = process.get("consoleSize") or {}
    if not size.get("height") or not size.get("width"):
        return None
    return int(size["height"]), int(size["width"])


def with_console_size(spec: dict, size: tuple[int, int] | None) -> dict:
    """A copy of ``spec`` whose ``process.consoleSize`` is ``size`` (rows, columns); ``spec``
    itself when ``size`` is None."""
    if not size:
        return spec
    process = dict(spec.get("process") or {}, consoleSize={"height": size[0], "width": size[1]})
    return {**spec, "process": process}


def open_pty(ptmx: str = "/dev/ptmx") -> tuple[int, int, str]:
    """A new pseudo-terminal from ``ptmx`` as this process's mount namespace sees it: (master,
    slave, the slave's path inside that namespace); both close-on-exec, neither a controlling
    terminal yet. The slave is opened from the master (TIOCGPTPEER), never by a path someone
    could have replaced."""
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0" * 4))[0]
        slave = fcntl.ioctl(master, _TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        os.close(master)
        raise
    return master, slave, f"/dev/pts/{number}"


def set_size(fd: int, rows: int, columns: int) -> None:
    """The terminal's size (TIOCSWINSZ) on its master or slave."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def send_master(console_socket: int, master: int) -> None:
    """Send the terminal's master over ``console_socket`` (SCM_RIGHTS, runc's protocol)."""
    sock = socket.socket(fileno=console_socket)
    try:
        socket.send_fds(sock, [MASTER_NAME], [master])
    finally:
        sock.detach()


def receive_master(console_socket: int) -> int:
    """The master an executor sent over (our end of) ``console_socket``, close-on-exec. The
    executor sends it before the payload runs, so it is there once ``exec_start`` returned:
    nothing there is an executor that ignored the socket."""
    sock = socket.socket(fileno=console_socket)
    fds = array.array("i")
    try:
        # recvmsg itself: socket.recv_fds ignores its flags before Python 3.12
        _, ancillary, _, _ = sock.recvmsg(256, socket.CMSG_SPACE(fds.itemsize), socket.MSG_DONTWAIT | _MSG_CMSG_CLOEXEC)
    except BlockingIOError:
        ancillary = []
    finally:
        sock.detach()
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    for extra in fds[1:]:
        os.close(extra)
    if not fds:
        raise StdcError("the executor sent no terminal over the console socket")
    return fds[0]


def take_terminal(console_socket: int, size: tuple[int, int] | None, ptmx: str = "/dev/ptmx") -> str:
    """In the payload-to-be, a session leader inside the container's mount namespace: open a
    terminal from the container's devpts, send its master over ``console_socket``, make the
    slave stdin, stdout, stderr and the controlling terminal. Returns the slave's path."""
    try:
        master, slave, path = open_pty(ptmx)
    except OSError as e:
        raise StdcError(f"allocating the terminal from the container's {ptmx}: {e.strerror}") from None
    try:
        if size:
            set_size(master, *size)
        send_master(console_socket, master)
    finally:
        os.close(master)
    for target in (0, 1, 2):
        os.dup2(slave, target)
    os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    return path


def bind_console(path: str, console: str = "/dev/console") -> None:
    """Bind-mount the terminal ``path`` on ``console`` (created as an empty file if missing), as
    runc does for the container's init."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(console, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0))
    try:
        syscalls.mount(path, console, None, syscalls.MS_BIND)
    except OSError as e:
        raise StdcError(f"mounting the terminal {path} on {console}: {e.strerror}") from None
