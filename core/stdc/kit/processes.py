"""Processes named by pid *and* start time, so a recycled pid is never mistaken for the process
it replaced: part of the published kit."""

from __future__ import annotations


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] == b"Z":  # a zombie has exited already
        return None
    return int(fields[19])


def process_alive(pid: int | None, start: int | None) -> bool:
    """Whether ``pid`` still names the process that started at ``start``."""
    return pid is not None and start is not None and process_start_time(pid) == start
