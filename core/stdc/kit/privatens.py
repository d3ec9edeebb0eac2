"""Work in a throwaway private mount namespace: part of the published kit.

:func:`in_private_namespace` runs a function in a forked child that unshares its mount namespace
and makes every mount in it private, so the mounts it makes vanish with it (also when it is
killed) and never reach the host. It dies with its parent (``PR_SET_PDEATHSIG``) and hands back
its result, or its error, through a pipe. The core's filesystem views (diff, commit, export,
cp) and drivers' probes (aufs's ``dirperm1``) use it alike.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from stdc.errors import StdcError
from stdc.kit import syscalls

_T = TypeVar("_T")
_PR_SET_PDEATHSIG = 1


def in_private_namespace(fn: Callable[[], _T]) -> _T:
    """Run ``fn`` in a forked child with a private mount namespace; return what it returns.

    ``fn``'s result must pickle. An exception in the child is raised again here (a
    :class:`StdcError` as it was, anything else as a one-line ``StdcError``).
    """
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_end)
        status = 0
        try:
            syscalls.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the parent died before the line above took effect
                os._exit(1)
            syscalls.unshare(syscalls.CLONE_NEWNS)
            syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
            outcome: tuple[str, Any] = ("ok", fn())
        except StdcError as e:
            outcome = ("error", e)
        except BaseException as e:  # noqa: BLE001 - the parent reports it
            if isinstance(e, OSError):
                text = f"{e.strerror or e}{': ' + str(e.filename) if e.filename else ''}"
            else:
                text = f"{type(e).__name__}: {e}"
            outcome = ("error", StdcError(text))
        try:
            data = pickle.dumps(outcome)
        except Exception as e:  # noqa: BLE001
            data = pickle.dumps(("error", StdcError(f"internal error: {e}")))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
        except OSError:
            status = 1
        os._exit(status)
    os.close(write_end)
    chunks = []
    try:
        with os.fdopen(read_end, "rb") as f:
            while chunk := f.read(1 << 16):
                chunks.append(chunk)
    finally:
        _, status = os.waitpid(pid, 0)
    if not chunks:
        raise StdcError(f"the helper process died ({_describe(status)})")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise value
    return value


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
