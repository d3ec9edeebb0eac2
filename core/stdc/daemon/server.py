"""``stdc daemon``: keep the engine warm so that every ``stdc`` command starts in milliseconds.

A zygote, not a second implementation: the daemon imports the CLI, the engine and the
configured backends once, then for each client (see :mod:`stdc.daemon.client`) forks a worker
that takes over the client's stdin/stdout/stderr, environment and working directory and runs the
very same click command (handed in by the CLI as ``run``: this module imports no front end),
reporting its pid (for signal forwarding) and its exit status. Containers
started by a worker are supervised by their own monitors exactly as without a daemon, so
stopping the daemon stops no container. The socket is root's alone (0600 in a 0700 directory),
and a peer of another uid is refused.

The daemon runs the code it was started with: restart it after upgrading stdc or its plugins.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable

from stdc.daemon.protocol import PROTOCOL


def _receive(conn: socket.socket) -> tuple[list[int], list[str], dict[str, str], str]:
    _, ancillary, _, _ = conn.recvmsg(1, socket.CMSG_SPACE(3 * 4))
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack(f"{len(data) // 4}i", data[: len(data) - len(data) % 4]))
    size = int.from_bytes(_read_exactly(conn, 8), "big")
    fields = _read_exactly(conn, size).split(b"\0")
    if fields[0] != PROTOCOL or len(fds) != 3:
        raise ValueError("not a stdc client")
    cwd, argc = os.fsdecode(fields[1]), int(fields[2])
    argv = [os.fsdecode(a) for a in fields[3 : 3 + argc]]
    env = dict(os.fsdecode(e).split("=", 1) for e in fields[3 + argc :] if b"=" in e)
    return fds, argv, env, cwd


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(min(size - len(data), 1 << 20))
        if not chunk:
            raise ValueError("the client hung up")
        data += chunk
    return data


def _work(conn: socket.socket, listener: socket.socket, run: Callable[[], None]) -> None:
    """In the forked worker: become the client's command, run it, report its status."""
    listener.close()
    for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    code = 125
    try:
        fds, argv, env, cwd = _receive(conn)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the fds outlive these wrappers
        sys.stdout = open(1, "w", closefd=False, buffering=1)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False, buffering=1)  # noqa: SIM115
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["stdc", *argv]
        conn.sendall(b"P%d\n" % os.getpid())
        try:
            run()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except Exception as e:  # noqa: BLE001 - whatever happens, the client gets a status
        print(f"stdc: daemon worker failed: {e}", file=sys.stderr)
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError):
                stream.flush()
        try:
            conn.sendall(b"X%d\n" % code)
        finally:
            os._exit(0)


def _socket_dir(directory: str) -> None:
    """The socket's directory: the runtime directory is made root's alone even if it existed
    (see :func:`stdc.kit.dirs.private`); any other is only made, 0700, when missing."""
    from stdc import config
    from stdc.kit import dirs

    if os.path.abspath(directory) == config.load().runtime_dir:
        dirs.private(directory)
    else:
        os.makedirs(directory, mode=0o700, exist_ok=True)


def serve(path: str, run: Callable[[], None]) -> None:
    """Listen on ``path`` until SIGTERM or SIGINT; one forked worker per client runs ``run``
    (the CLI's, with its commands loaded) in the client's stead. The engine's modules and the
    backends are readied once first (:func:`stdc.engine.system.warm_up`)."""
    from stdc import config
    from stdc.engine import Engine, reconcile, system
    from stdc.errors import StdcError

    system.warm_up()
    with contextlib.suppress(StdcError, OSError):  # `stdc system check` reports what is left
        reconcile.reconcile(Engine(config.load()))  # what stdc commands killed before it left
    _socket_dir(os.path.dirname(path))
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # a stale socket of a daemon that died
        else:
            from stdc.errors import Conflict

            raise Conflict(f"a stdc daemon already listens on {path}")
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old_umask)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        listener.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"stdc daemon: listening on {path}", file=sys.stderr, flush=True)
    try:
        while not stopping:
            try:
                conn, _ = listener.accept()
            except OSError:
                if stopping:
                    break
                raise
            with conn:
                uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
                if uid != os.getuid():
                    continue
                if os.fork() == 0:  # pragma: no cover - the worker
                    _work(conn, listener, run)
    finally:
        if os.path.exists(path):
            os.unlink(path)
