"""The console socket (stdc.kit.console) on real pseudo-terminals of the host, and the engine's
choice between it and a terminal allocated for an executor written before it
(stdc.engine.consoles). No root needed."""

from __future__ import annotations

import fcntl
import os
import struct
import termios

import pluggy
import pytest
from stdc.engine.consoles import Terminal, takes_console_socket
from stdc.errors import StdcError
from stdc.kit import console
from stdc.specs import PROJECT, hookimpl
from stdc.specs import executor as executor_spec


def _size(fd: int) -> tuple[int, int]:
    rows, columns, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return rows, columns


class Written10:
    """An executor written for contract 1.0: no console_socket."""

    @hookimpl
    def exec_start(self, container_id, bundle, spec, rootfs_mounts, stdio):  # noqa: ANN001, ANN201, D102
        return 0


class Written11:
    """An executor that takes the console socket."""

    @hookimpl
    def exec_start(self, container_id, bundle, spec, rootfs_mounts, stdio, console_socket):  # noqa: ANN001, ANN201, D102
        return 0


def _manager(impl: object) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(executor_spec)
    pm.register(impl)
    return pm


def test_console_size_from_the_spec():
    assert console.console_size({}) is None
    assert console.console_size({"consoleSize": {"height": 24, "width": 80}}) == (24, 80)
    spec = {"process": {"args": ["sh"]}}
    assert console.with_console_size(spec, None) is spec
    sized = console.with_console_size(spec, (30, 100))
    assert sized["process"] == {"args": ["sh"], "consoleSize": {"height": 30, "width": 100}}
    assert spec == {"process": {"args": ["sh"]}}  # not changed in place


def test_master_sent_over_the_socket_drives_the_slave():
    ours, theirs = (s.detach() for s in __import__("socket").socketpair())
    master, slave, path = console.open_pty()
    try:
        assert path.startswith("/dev/pts/") and os.ttyname(slave) == path
        console.set_size(master, 12, 34)
        console.send_master(theirs, master)
        received = console.receive_master(ours)
        try:
            assert _size(slave) == (12, 34)
            os.write(received, b"typed\n")
            assert os.read(slave, 100) == b"typed\n"
        finally:
            os.close(received)
        with pytest.raises(StdcError, match="no terminal"):
            console.receive_master(ours)  # nothing more was sent
    finally:
        for fd in (master, slave, ours, theirs):
            os.close(fd)


def test_terminal_by_console_socket_or_allocated_here():
    assert takes_console_socket(_manager(Written11()), "exec_start")
    assert not takes_console_socket(_manager(Written10()), "exec_start")
    null = os.open(os.devnull, os.O_RDWR)
    try:
        old = Terminal(_manager(Written10()), "exec_start", null, (20, 90))
        assert old.console_socket is None and os.isatty(old.stdio[0])
        master = old.master()
        assert _size(master) == (20, 90)
        os.close(master)
        old.close()
        new = Terminal(_manager(Written11()), "exec_start", null, (20, 90))
        assert new.stdio == (null, null, null) and new.console_socket is not None
        with pytest.raises(StdcError, match="no terminal"):
            new.master()  # the executor sent nothing
        new.close()
    finally:
        os.close(null)
