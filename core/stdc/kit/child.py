"""The first steps of a container's init, the same in every executor: part of the published API.

Called in the forked child before anything else: default signal dispositions, a session of its
own, the payload's stdio on 0-2 (with ``process.terminal``, its terminal made the session's
controlling terminal: the payload gets ctrl-c and job control), the executor's report pipe on 3
(close-on-exec) and every other descriptor of the runtime closed, so none reaches the payload.
Last, :func:`exec_payload`: the payload found in the container's PATH and executed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import termios
from typing import NoReturn

from stdc.errors import PayloadError, StdcError

REPORT_FD = 3
#: where :func:`own_process` keeps a console socket (see :mod:`stdc.kit.console`)
CONSOLE_FD = 4
_MAX_FD = 0x7FFFFFFF  # closerange's bound; the kernel bounds the work by the open descriptors


def handled_signals() -> list[int]:
    """The signals this process ignores or catches, from the kernel's view in /proc (the signal
    module's valid_signals and getsignal build an enum per signal: ~0.5 ms)."""
    masks = 0
    with open("/proc/thread-self/status", "rb") as f:
        for line in f:
            if line.startswith((b"SigIgn:", b"SigCgt:")):
                masks |= int(line.split()[1], 16)
    return [sig for sig in range(1, 65) if masks >> (sig - 1) & 1 and sig not in (signal.SIGKILL, signal.SIGSTOP)]


def own_process(
    stdio: tuple[int, int, int], report_w: int, terminal: bool = False, console_socket: int | None = None
) -> int:
    """Make this (forked) process the container's own; returns the report pipe's descriptor.

    With ``terminal``, ``stdio[0]`` is a terminal (a pty's slave) that becomes the controlling
    terminal of the new session. A ``console_socket`` is kept, on :data:`CONSOLE_FD`
    (close-on-exec), for :func:`stdc.kit.console.take_terminal` to use later."""
    for sig in handled_signals():  # the others are at their default already
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())
    os.setsid()
    # move everything above 3 first, so that no dup2 below overwrites a descriptor still needed
    kept = (report_w,) if console_socket is None else (report_w, console_socket)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, CONSOLE_FD + 1) for fd in (*stdio, *kept)]
    for target, fd in enumerate(high[:3]):
        os.dup2(fd, target)
    os.dup2(high[3], REPORT_FD, inheritable=False)
    if console_socket is not None:
        os.dup2(high[4], CONSOLE_FD, inheritable=False)
    os.closerange(REPORT_FD + 1 if console_socket is None else CONSOLE_FD + 1, _MAX_FD)
    if terminal:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    return REPORT_FD


def look_path(name: str, search: str) -> str:
    """``name`` as the payload's PATH finds it: the first regular file the user may execute."""
    if "/" in name:
        return name
    for directory in search.split(":"):
        candidate = os.path.join(directory or ".", name)
        try:
            mode = os.stat(candidate).st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and os.access(candidate, os.X_OK):
            return candidate
    raise PayloadError(f'exec: "{name}": executable file not found in $PATH', 127)


def exec_payload(args: list[str], env: dict[str, str], search: str) -> NoReturn:
    """Execute the payload (never returns); :class:`PayloadError` 127 (not found) or 126."""
    path = look_path(args[0], env.get("PATH", search))
    try:
        os.execve(path, args, env)
    except OSError as e:
        code = 127 if e.errno in (errno.ENOENT, errno.ENOTDIR) else 126
        raise PayloadError(f'exec: "{args[0]}": {os.strerror(e.errno or 0).lower()}', code) from None


def read_report(report_r: int) -> bytes:
    """What a forked child wrote on its close-on-exec report pipe before the payload replaced it
    (nothing: the payload was executed) or it exited (one line ``CODE MESSAGE``); closes the
    pipe."""
    report = b""
    try:
        while chunk := os.read(report_r, 4096):
            report += chunk
    finally:
        os.close(report_r)
    return report


def reported_error(report: bytes) -> PayloadError:
    """The error a report line ``CODE MESSAGE`` tells of (125 when it names no code)."""
    code, _, message = report.decode("utf-8", "replace").strip().partition(" ")
    return PayloadError(message, int(code) if code.isdigit() else 125)


def failure_report(error: BaseException, context: str) -> tuple[int, bytes]:
    """What a forked child that failed before exec tells the caller: its exit code and the
    report line ``CODE MESSAGE`` (what :func:`reported_error` reads). ``context`` names the step
    for errors that are not stdc's own (``container init``, ``exec``)."""
    if isinstance(error, StdcError):  # PayloadError included, with its own code
        code, message = error.exit_code, str(error)
    elif isinstance(error, OSError):
        code, message = 125, f"{context}: {error}"
    else:
        code, message = 125, f"{context}: {type(error).__name__}: {error}"
    return code, f"{code} {message}".replace("\n", " ").encode() + b"\n"
