"""A payload's terminal: the console socket its executor sends the master over (runc's
``--console-socket``, see :mod:`stdc.kit.console`), or, for an executor written before the
contract had ``console_socket``, a pseudo-terminal allocated here on the host's devpts.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from stdc.errors import StdcError
from stdc.kit import console


def takes_console_socket(executor: Any, hook: str) -> bool:
    """Whether the executor's implementation of ``hook`` accepts ``console_socket``."""
    impls = getattr(executor.hook, hook).get_hookimpls()
    return any("console_socket" in impl.argnames for impl in impls)


class Terminal:
    """The wiring of one terminal, made before the executor's hook is called.

    Pass :attr:`stdio` and :attr:`console_socket` to the hook, then take :meth:`master` once it
    returned; :meth:`close` drops what is left here (also after a failure).
    """

    def __init__(self, executor: Any, hook: str, null: int, size: tuple[int, int] | None) -> None:
        self._master: int | None = None
        self._ours: int | None = None
        self.console_socket: int | None = None
        if takes_console_socket(executor, hook):
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self._ours, self.console_socket = ours.detach(), theirs.detach()
            os.set_inheritable(self._ours, False)
            os.set_inheritable(self.console_socket, False)
            self.stdio = (null, null, null)
            self._slave = None
            return
        self._master, self._slave = os.openpty()  # the slave opened O_NOCTTY: nobody's terminal yet
        if size:
            console.set_size(self._master, *size)
        self.stdio = (self._slave, self._slave, self._slave)

    def master(self) -> int:
        """The terminal's master, once the hook returned; the executor's end is closed here."""
        self.close_executor_end()
        if self._ours is not None:
            try:
                self._master = console.receive_master(self._ours)
            finally:
                os.close(self._ours)
                self._ours = None
        master, self._master = self._master, None
        if master is None:
            raise StdcError("the terminal's master was already taken")
        return master

    def close_executor_end(self) -> None:
        """Close the descriptors meant for the executor (the socket's end, or the slave)."""
        for fd in (self.console_socket, self._slave):
            if fd is not None:
                os.close(fd)
        self.console_socket = self._slave = None

    def close(self) -> None:
        """Close everything still held here."""
        self.close_executor_end()
        for fd in (self._ours, self._master):
            if fd is not None:
                os.close(fd)
        self._ours = self._master = None
