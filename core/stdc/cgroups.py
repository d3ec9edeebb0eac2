"""Emptying and removing a container's cgroup directories: part of the published API for
executors, which make the cgroups their own way but end them alike.

A process left in a container's cgroup is killed through a pidfd, and only while it is still a
member of that cgroup, so a pid reused since ``cgroup.procs`` was read is never hit.
"""

from __future__ import annotations

import os
import signal
import time

from stdc.errors import StdcError

KILL_TIMEOUT = 5.0


def pids(directory: str) -> list[int]:
    """The processes in a cgroup directory; [] when it is gone."""
    try:
        with open(os.path.join(directory, "cgroup.procs")) as f:
            return [int(line) for line in f.read().split()]
    except FileNotFoundError:
        return []


def _member(pid: int, relative: str) -> bool:
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            path = line.rstrip("\n").split(":", 2)[2]
            if path == "/" + relative or path.startswith("/" + relative + "/"):
                return True
    return False


def kill_all(directory: str, relative: str) -> None:
    """SIGKILL every process in ``directory`` (a cgroup of the container ``relative``, e.g.
    ``stdc/<id>``) and wait until it is empty, at most :data:`KILL_TIMEOUT` seconds."""
    deadline = time.monotonic() + KILL_TIMEOUT
    kill_file = os.path.join(directory, "cgroup.kill")  # cgroup v2 kills them all at once
    while left := pids(directory):
        if os.path.exists(kill_file):
            with open(kill_file, "w") as f:
                f.write("1")
        else:
            for pid in left:
                try:
                    pidfd = os.pidfd_open(pid)
                except ProcessLookupError:
                    continue
                try:
                    if _member(pid, relative):
                        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                except (FileNotFoundError, ProcessLookupError):
                    pass
                finally:
                    os.close(pidfd)
        if time.monotonic() > deadline:
            raise StdcError(f"cgroup {directory}: processes left after SIGKILL: {left}")
        time.sleep(0.001)


def remove(directory: str, relative: str) -> None:
    """Empty the cgroup ``directory`` and remove it; gone already is fine (idempotent)."""
    kill_all(directory, relative)
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as e:  # EBUSY while the last exiting task is still being released
            if time.monotonic() > deadline:
                raise StdcError(f"cgroup {directory}: cannot remove: {e.strerror}") from None
            time.sleep(0.002)
