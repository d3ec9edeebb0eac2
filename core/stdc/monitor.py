"""The per-container monitor: where it records a container's output and exit, and its binary.

Every container runs under a monitor, a small C program (libexec/stdc-monitor.c) like podman's
conmon: it holds the read ends of the payload's stdout and stderr, appends them to the
container's log as JSON lines (docker's json-file format: ``{"log", "stream", "time"}``), echoes
them when attached, reaps the payload and writes its exit status. A detached container's monitor
also holds the payload's terminal or stdin and serves ``attach.sock`` (see :mod:`stdc.attach`),
and at the end execs ``stdc internal-cleanup`` to release what the backends hold. C, because it lives as
long as the container: a Python process would cost a running container ~5 MB of host memory.
"""

from __future__ import annotations

import json
import os

LOG_FILE = "log.json"
EXIT_FILE = "exit.json"
MONITOR_LOG = "monitor.log"


def binary(root: str) -> str:
    """The monitor executable for this stdc root, built from the shipped source on first use."""
    from stdc.libexec.build import monitor_path

    return monitor_path(os.path.join(root, "libexec"))


def read_exit(bundle: str) -> dict | None:
    """The recorded exit of a container's last run, ``{"exit_code", "finished"}``, or None."""
    try:
        with open(os.path.join(bundle, EXIT_FILE)) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None
