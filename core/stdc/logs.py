"""Reading a container's JSON-lines log back: batch, --tail, -t and live following (-f)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from typing import Any

from stdc import monitor


def _emit(line: str, timestamps: bool) -> None:
    try:
        record = json.loads(line)
    except ValueError:
        return  # a line being written right now; following reads it again whole
    text = record.get("log", "")
    if timestamps:
        text = f"{record.get('time', '')} {text}"
    stream = sys.stderr if record.get("stream") == "stderr" else sys.stdout
    stream.write(text)
    stream.flush()


def _live(engine: Any, container: Any) -> bool:
    """Whether more output may still come: the payload or its monitor is alive."""
    c = engine.refresh(engine.state.get(container.id))
    return c.running or engine.monitor_alive(c)


def show(engine: Any, container: Any, *, follow: bool, tail: int | None, timestamps: bool) -> None:
    """Print the log; with ``follow``, keep printing until the container has exited."""
    path = os.path.join(engine.bundle(container), monitor.LOG_FILE)
    while follow and not os.path.exists(path) and _live(engine, container):
        time.sleep(0.1)
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in deque(log, maxlen=tail) if tail is not None else log:
            if line.endswith("\n"):
                _emit(line, timestamps)
        pending = ""
        while follow:
            chunk = log.read()
            if chunk:
                pending += chunk
                *complete, pending = pending.split("\n")
                for line in complete:
                    _emit(line, timestamps)
            elif _live(engine, container):
                time.sleep(0.1)
            else:
                for line in (pending + log.read()).split("\n"):
                    if line:
                        _emit(line, timestamps)
                return
