"""A container's output read back from its JSON-lines log: all of it or the last entries, and
with ``follow`` live until the container (and its monitor) has ended. Entries are yielded; the
front end writes them where it wants.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import IO, TYPE_CHECKING

from stdc.engine import monitor
from stdc.errors import Conflict

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container

__all__ = ["LogEntry", "LogOptions", "entries"]


@dataclass
class LogOptions:
    """What ``stdc logs`` was asked for."""

    follow: bool = False
    tail: int | None = None  # only the last N entries; None: all
    timestamps: bool = False
    since: float | None = None  # only entries written at or after this time (seconds since the epoch)
    until: float | None = None  # only entries written before it


@dataclass
class LogEntry:
    """One chunk of output: its text, ``stdout`` or ``stderr``, and when it was written (RFC 3339)."""

    text: str
    stream: str
    time: str


def _entry(line: str) -> LogEntry | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a line being written right now; following reads it again whole
    return LogEntry(record.get("log", ""), record.get("stream", "stdout"), record.get("time", ""))


def _live(engine: Engine, c: Container) -> bool:
    """Whether more output may still come: the payload or its monitor is alive."""
    c = engine.refresh(engine.state.get(c.id))
    return c.running or engine.monitor_alive(c)


def _settle(engine: Engine, c: Container, bundle: str) -> None:
    """Past the payload's exit its monitor may still be draining the last output: wait (5 s at
    most) for the exit record it writes once the log is complete, so that ``logs`` after ``wait``
    holds everything, as docker's does."""
    deadline = time.monotonic() + 5
    while (
        time.monotonic() < deadline
        and engine.monitor_alive(c)
        and monitor.read_exit(bundle) is None
        and not engine.refresh(engine.state.get(c.id)).running
    ):
        time.sleep(0.01)


def entries(engine: Engine, ref: str, opts: LogOptions) -> Iterator[LogEntry]:
    """The log's entries (those between ``opts.since`` and ``opts.until``); with ``opts.follow``,
    more as they come until the container has exited or ``until`` is passed."""
    found = _all_entries(engine, ref, opts)
    if opts.since is None and opts.until is None:
        yield from found
        return
    from stdc.engine.docker_shapes import parse_time

    for entry in found:
        at = parse_time(entry.time) if entry.time else 0.0
        if opts.until is not None and at >= opts.until:
            return  # the log is in time order: nothing later is wanted
        if opts.since is None or at >= opts.since:
            yield entry


def _all_entries(engine: Engine, ref: str, opts: LogOptions) -> Iterator[LogEntry]:
    c = engine.state.get(ref)
    if (c.config.get("LogConfig") or {}).get("Type") == "none":
        raise Conflict("configured logging driver does not support reading")
    bundle = engine.bundle(c)
    if not opts.follow:
        _settle(engine, c, bundle)
    path = os.path.join(bundle, monitor.LOG_FILE)
    while opts.follow and not os.path.exists(path) and _live(engine, c):
        time.sleep(0.1)
    if not os.path.exists(path):
        return
    *rotated, _ = monitor.log_files(bundle)
    log = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - reopened after a rotation
    try:
        old = (line for name in rotated for line in _lines_of(name))
        lines = deque(chain(old, log), maxlen=opts.tail) if opts.tail is not None else chain(old, log)
        yield from (e for line in lines if line.endswith("\n") and (e := _entry(line)) is not None)
        pending = ""
        while opts.follow:
            chunk = log.read()
            if chunk:
                pending += chunk
                *complete, pending = pending.split("\n")
                yield from (e for line in complete if (e := _entry(line)) is not None)
            elif _rotated(log, path):
                log.close()
                log = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed in finally
            elif _live(engine, c):
                time.sleep(0.1)
            else:
                rest = (pending + log.read()).split("\n")
                yield from (e for line in rest if line and (e := _entry(line)) is not None)
                return
    finally:
        log.close()


def _lines_of(path: str) -> Iterator[str]:
    """The lines of a rotated log file (gone meanwhile: none)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            yield from f
    except FileNotFoundError:
        return


def _rotated(log: IO[str], path: str) -> bool:
    """Whether the monitor has moved ``log`` aside and begun a new file at ``path``."""
    try:
        return os.stat(path).st_ino != os.fstat(log.fileno()).st_ino
    except FileNotFoundError:
        return False
