"""The per-container supervisor: pumps the payload's output into its log, records its exit.

In the foreground the stdc CLI runs :func:`supervise` itself, echoing the output to the
terminal. A detached container gets a process of its own running :func:`main`: the CLI forks,
the child starts the container (so the container's init is its child), then execs this module,
which keeps only the standard library in memory. When the payload has exited and its status is
written, the monitor execs ``stdc internal-cleanup`` to release what the backends hold.

Standard library only: this module is what a running container costs in host memory.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time

LOG_FILE = "log.json"
EXIT_FILE = "exit.json"
MONITOR_LOG = "monitor.log"

_CHUNK = 65536


def _timestamp() -> str:
    now = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 1_000_000_000)) + f".{now % 1_000_000_000:09d}Z"


def exit_code_of(status: int) -> int:
    """A wait status as a shell would report it: the exit code, or 128 + the killing signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def supervise(pid: int, out_fd: int, err_fd: int, log_path: str, echo: tuple[int, int] | None = None) -> int:
    """Copy the payload's stdout/stderr into the JSON-lines log (docker's json-file format:
    ``{"log": …, "stream": …, "time": …}``), and to ``echo`` when given, until both close;
    then reap ``pid`` and return its exit code."""
    streams = {out_fd: "stdout", err_fd: "stderr"}
    targets = {out_fd: echo[0], err_fd: echo[1]} if echo else {}
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
    poller = select.poll()
    for fd in streams:
        poller.register(fd, select.POLLIN)
    try:
        while streams:
            for fd, _event in poller.poll():
                data = os.read(fd, _CHUNK)
                if not data:
                    poller.unregister(fd)
                    os.close(fd)
                    del streams[fd]
                    continue
                if fd in targets:
                    _write_all(targets[fd], data)
                stamp = _timestamp()
                text = data.decode("utf-8", "replace")
                records = "".join(
                    json.dumps({"log": line, "stream": streams[fd], "time": stamp}) + "\n"
                    for line in text.splitlines(keepends=True)
                )
                _write_all(log, records.encode())
    finally:
        os.close(log)
    _, status = os.waitpid(pid, 0)
    return exit_code_of(status)


def _write_all(fd: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(fd, data) :]
    except BrokenPipeError:
        pass  # the reader went away; the log still gets everything


def write_exit(bundle: str, exit_code: int | None) -> None:
    """Record the payload's exit atomically in the container's directory."""
    tmp = os.path.join(bundle, EXIT_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"exit_code": exit_code, "finished": time.time()}, f)
    os.replace(tmp, os.path.join(bundle, EXIT_FILE))


def read_exit(bundle: str) -> dict | None:
    """The recorded exit of a container's last run, or None if none was recorded."""
    try:
        with open(os.path.join(bundle, EXIT_FILE)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def main() -> None:
    """``python -m stdc.monitor BUNDLE PID CONTAINER_ID``, with the output pipes on fds 3 and 4."""
    bundle, pid, container_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    code = supervise(pid, 3, 4, os.path.join(bundle, LOG_FILE))
    write_exit(bundle, code)
    os.execv(sys.executable, [sys.executable, "-m", "stdc", "internal-cleanup", container_id])


if __name__ == "__main__":
    main()
