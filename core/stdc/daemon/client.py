"""The ``stdc`` command's entry point: hand the invocation to a warm ``stdc daemon`` if one runs.

Starting Python and importing click, pluggy and sqlite costs more than running a container.
When a daemon listens (``stdc daemon``; socket ``/run/stdc/daemon.sock`` or ``STDC_DAEMON_SOCKET``),
this client passes it the command line, environment, working directory and its own stdin, stdout
and stderr (as file descriptors), forwards the signals it receives, and exits with the status
the daemon reports: the output goes straight from the container's monitor to this terminal.
Without a daemon the same command runs in this process. Either way it is the same click command.

Only built-in modules are imported here: this runs on every invocation. This module is the
reference client of the hand-over protocol (:mod:`stdc.daemon.protocol`);
``libexec/stdc-client.c``, the ``stdc`` that scripts/setup installs, speaks the same one
without starting Python.
"""

from __future__ import annotations

import os
import sys

from stdc.daemon.protocol import encode_request, socket_path


def _forward(worker: int) -> None:
    import _signal

    def forward(signum: int, _frame: object) -> None:
        try:  # noqa: SIM105 - contextlib is one import too many on this path
            os.kill(worker, signum)
        except ProcessLookupError:
            pass

    # SIGWINCH too: an attached terminal's size follows the client's window
    for sig in (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGWINCH):
        _signal.signal(sig, forward)


def _via_daemon(path: str) -> int | None:
    """Run this invocation in the daemon; None when no daemon answers (run it here instead)."""
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    try:
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        sock.sendmsg([b"S"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        sock.sendall(encode_request(sys.argv[1:], dict(os.environ), os.getcwd()))
        return _await_status(sock)
    finally:
        sock.close()


def _await_status(sock: object) -> int:
    """Read the daemon's replies: ``P<worker pid>`` (forward signals there), then ``X<status>``."""
    replies = b""
    while True:
        chunk = sock.recv(64)  # type: ignore[attr-defined]
        if not chunk:
            print("stdc: the daemon went away before the command finished", file=sys.stderr)
            return 125
        replies += chunk
        while b"\n" in replies:
            line, replies = replies.split(b"\n", 1)
            if line.startswith(b"P"):
                _forward(int(line[1:]))
            elif line.startswith(b"X"):
                return int(line[1:])


def main() -> None:
    """Run this invocation in the warm daemon if one answers, else here."""
    path = socket_path()
    if os.path.exists(path):
        code = _via_daemon(path)
        if code is not None:
            sys.exit(code)
    from stdc.cli import main as run_here

    run_here()
