"""``run``: create and start in one, and without ``--detach`` stay as the payload's parent —
signals passed on, its exit status ours, the container deleted after it (runc's behaviour)."""

from __future__ import annotations

import contextlib
import os
import signal

from stdc.runtime import oci_lifecycle
from stdc.runtime.oci_lifecycle import Runtime

#: the signals a foreground run passes on to the payload (runc forwards all it can catch)
FORWARDED = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
    signal.SIGCONT,
)


def run(
    runtime: Runtime,
    container_id: str,
    bundle: str,
    *,
    detach: bool = False,
    console_socket: str | None = None,
    pid_file: str | None = None,
    preserve_fds: int = 0,
) -> int:
    """The exit code of ``stdc-runtime run``: 0 when detached, else the payload's (128 + the
    signal that killed it)."""
    record = oci_lifecycle.create(
        runtime,
        container_id,
        bundle,
        console_socket=console_socket,
        pid_file=pid_file,
        preserve_fds=preserve_fds,
        detach=detach,
    )
    try:
        oci_lifecycle.start(runtime, container_id)
    except BaseException:
        oci_lifecycle.delete(runtime, container_id, force=True)
        raise
    if detach:
        return 0
    for sig in FORWARDED:
        signal.signal(sig, lambda number, _frame: _forward(record.pid, number))
    while True:
        try:
            _, status = os.waitpid(record.pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    oci_lifecycle.delete(runtime, container_id, force=True)
    return code if code >= 0 else 128 - code


def _forward(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)
