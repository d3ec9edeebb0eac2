"""Namespaces: which ones a container creates and joins, the fork that makes its init pid 1,
and the loopback of a new network namespace."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
from collections.abc import Callable

from stdc.errors import StdcError
from stdc.kit import syscalls

#: Namespace types that may be joined by path (mount and user may not, for now).
_JOINABLE = ("pid", "ipc", "uts", "network", "cgroup")


class NamespacePlan:
    """``linux.namespaces`` of a spec, checked: what to create, what to join."""

    __slots__ = ("new_flags", "joins", "pid", "new", "user")

    def __init__(self, namespaces: list[dict]) -> None:
        #: clone flags to unshare in the child (all but pid)
        self.new_flags = 0
        #: (clone flag, path) to setns in the child (all but pid)
        self.joins: list[tuple[int, str]] = []
        #: the pid namespace: "new", a path to join, or None to stay in the caller's
        self.pid: str | None = None
        #: types created anew
        self.new: set[str] = set()
        #: a new user namespace (see stdc_exec_native.userns: made apart, entered last)
        self.user = False
        for ns in namespaces:
            kind, path = ns.get("type"), ns.get("path")
            if kind not in syscalls.NAMESPACE_FLAGS:
                raise StdcError(f"unknown namespace type {kind!r}")
            if kind == "user":
                if path:
                    raise StdcError("joining a user namespace by path is not supported")
                self.user = True
                continue
            if path and kind not in _JOINABLE:
                raise StdcError(f"joining a {kind} namespace by path is not supported")
            if kind == "pid":
                self.pid = path or "new"
            elif path:
                self.joins.append((syscalls.NAMESPACE_FLAGS[kind], path))
            else:
                self.new_flags |= syscalls.NAMESPACE_FLAGS[kind]
            if not path:
                self.new.add(kind)
        if "mount" not in self.new:
            raise StdcError("a container needs a new mount namespace")

    def made_apart(self, joins: list[tuple[int, str]]) -> None:
        """New namespaces made by someone else (the user namespace's helper): join them instead."""
        for flag, _ in joins:
            self.new_flags &= ~flag
        self.joins += joins


def fork_in_pid_namespace(pid: str | None) -> int:
    """``os.fork`` with the child in the container's pid namespace, as its pid 1 when new.

    A pid namespace applies to the children of whoever enters it, so the caller enters it
    "for its children" (unshare or setns of CLONE_NEWPID), forks, and at once goes back to
    its own; the child is a direct child of the caller and no process is spent on the way.
    Meanwhile no other thread of the caller may fork (the CLI and the monitor have one).
    """
    if pid is None:
        return os.fork()
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if pid == "new":
            syscalls.unshare(syscalls.CLONE_NEWPID)
        else:
            target = os.open(pid, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(target, syscalls.CLONE_NEWPID)
            finally:
                os.close(target)
    except OSError as e:
        os.close(own)
        raise StdcError(f"pid namespace: {e.strerror}") from None
    try:
        child = os.fork()
    except BaseException:
        _restore(own)
        raise
    if child:
        try:
            _restore(own)
        except OSError as e:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            raise StdcError(f"pid namespace: cannot return to our own: {e.strerror}") from None
    return child


def _restore(own: int) -> None:
    """Back to the caller's own pid namespace for its later children."""
    try:
        syscalls.setns(own, syscalls.CLONE_NEWPID)
    finally:
        os.close(own)


def enter(plan: NamespacePlan, join_cgroups: Callable[[], None]) -> None:
    """In the child: join the namespaces given by path, move into the container's cgroups,
    then create the new namespaces (after the move: a cgroup namespace is rooted at the
    cgroup its creator is in)."""
    for flag, path in plan.joins:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            syscalls.setns(fd, flag)
        finally:
            os.close(fd)
    join_cgroups()
    syscalls.unshare(plan.new_flags)
    if "network" in plan.new:
        loopback_up()


_SYS_socket = 41  # x86_64
_AF_INET = 2
_SOCK_DGRAM = 2
_SOCK_CLOEXEC = 0o2000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"  # struct ifreq: the name, then ifr_flags in the 24-byte union


def loopback_up() -> None:
    """Bring ``lo`` up in the current network namespace (SIOCSIFFLAGS; the socket module
    costs too much to import on this path)."""
    sock = syscalls.syscall(_SYS_socket, _AF_INET, _SOCK_DGRAM | _SOCK_CLOEXEC, 0)
    try:
        _, flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0)))
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))
    finally:
        os.close(sock)
